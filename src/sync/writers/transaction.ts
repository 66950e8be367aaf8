/**
 * Sends planned writes as one transaction Bundle, upserting each resource by its business identifier so
 * a resend never duplicates, and reads back each entry by its own status (entry-outcome.ts).
 *
 * Provenances never ride in the transaction (issue #9 item 2): a Provenance is written only once the
 * resource version it attests is confirmed on the target (deliver.ts, provenance-step.ts). A server that
 * declares `transaction` but applies entries one by one (Medplum without its `transaction-bundles`
 * feature) would otherwise keep a Provenance whose target was refused: an orphan.
 *
 * A transaction answered 200 with an error in some entry was not atomic: the outcome says which
 * entries the target holds (`refused` > 0) so the caller can stop trusting transactions on it.
 */
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { FhirTarget } from '../../fhir/port.js';
import { UpstreamError } from '../../fhir/upstream-error.js';
import { OperationOutcomeError, upstreamFailed } from '../../outcomes.js';
import type { LedgerEntry } from '../../store/port.js';
import type { PlannedWrite } from '../plan.js';
import { forEachReference } from '../references.js';
import { type EntryOutcome, writeEntryOutcome } from './entry-outcome.js';
import { ledgerFor } from './ledger.js';

function writeEntry(w: PlannedWrite): BundleEntry {
  const { resourceType } = w.resource;
  const query = `identifier=${encodeURIComponent(w.mapped.key.system)}|${encodeURIComponent(w.mapped.key.value)}`;
  return w.mapped.write === 'upsert'
    ? { fullUrl: w.fullUrl, resource: w.resource, request: { method: 'PUT', url: `${resourceType}?${query}` } }
    : { fullUrl: w.fullUrl, resource: w.resource, request: { method: 'POST', url: resourceType, ifNoneExist: query } };
}

/** One record's share of a transaction Bundle: its writes and their entries, in the same order. */
export interface TransactionPart {
  writes: PlannedWrite[];
  entries: BundleEntry[];
  /** The conditional URLs of its entries: two equal conditions cannot share one Bundle. */
  conditions: string[];
}

/** The entries of one record's writes for a transaction Bundle. */
export function transactionPart(writes: PlannedWrite[]): TransactionPart {
  const entries = writes.map(writeEntry);
  return {
    writes,
    entries,
    conditions: entries.map((e) => (e.request?.ifNoneExist ? `${e.request.url}?${e.request.ifNoneExist}` : e.request?.url ?? '')).filter((c) => c.includes('?')),
  };
}

/** What one record's part of a transaction came to. */
export type PartResult =
  | { ok: true; ledger: LedgerEntry[] }
  | {
      ok: false;
      /** The error of its most decisive refused entry (a park before a pause before a retry). */
      error: UpstreamError;
      /**
       * The entries confirmed on the target whose references inside the Bundle all point at confirmed
       * entries too: safe to record. A confirmed entry that points at a refused one holds a reference to a
       * resource that does not exist; it is left out, so the next attempt writes it again (same identifier).
       */
      ledger: LedgerEntry[];
    };

export interface TransactionOutcome {
  parts: PartResult[];
  /** Entries refused inside an HTTP 200: the target did not apply the transaction all-or-nothing. */
  refused: number;
}

/**
 * Reads a transaction's response: each entry's own outcome, in order.
 * @throws OperationOutcomeError (502) when the response does not account for every entry.
 */
export function readTransactionResponse(sent: BundleEntry[], response: Bundle): EntryOutcome[] {
  const entries = response.entry ?? [];
  if (entries.length !== sent.length) {
    throw new OperationOutcomeError(upstreamFailed(502, undefined, `Transaction response has ${entries.length} entries for ${sent.length} sent`));
  }
  return entries.map((e, i) => writeEntryOutcome(e, sent[i].request));
}

/** Which refused entry decides a record's fate: one that parks, then a pause, then a retry. */
function decisive(errors: UpstreamError[]): UpstreamError {
  const rank = (s: number): number => (s === 403 ? 0 : s === 400 || s === 422 ? 1 : s === 429 ? 2 : s === 409 || s === 412 ? 3 : 4);
  return [...errors].sort((a, b) => rank(a.status) - rank(b.status))[0];
}

/** A part's result from its entries' outcomes. */
function partResult(targetName: string, part: TransactionPart, outcomes: EntryOutcome[], now: Date): PartResult {
  const failed = new Set<string>();
  outcomes.forEach((o, i) => !o.ok && failed.add(part.writes[i].fullUrl));
  const ledger: LedgerEntry[] = [];
  part.writes.forEach((w, i) => {
    const o = outcomes[i];
    let dangling = false;
    forEachReference(w.resource, (r) => {
      dangling ||= failed.has(r);
    });
    if (o.ok && !dangling) {
      ledger.push(ledgerFor(targetName, w, o.id, o.versionId, now));
    }
  });
  const errors = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
  return errors.length === 0 ? { ok: true, ledger } : { ok: false, error: decisive(errors), ledger };
}

/**
 * Sends several records' parts as one transaction Bundle and returns each part's result, in order.
 * @throws OperationOutcomeError (an UpstreamError) when the target refuses the Bundle as a whole or does not answer.
 */
export async function sendTransactionParts(target: FhirTarget, parts: TransactionPart[]): Promise<TransactionOutcome> {
  // See https://hl7.org/fhir/R4/http.html#transaction
  const sent = parts.flatMap((p) => p.entries);
  const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: sent };
  const outcomes = readTransactionResponse(sent, await target.transaction(bundle));
  const now = new Date();
  let offset = 0;
  const results = parts.map((p) => {
    const mine = outcomes.slice(offset, offset + p.entries.length);
    offset += p.entries.length;
    return partResult(target.name, p, mine, now);
  });
  return { parts: results, refused: outcomes.filter((o) => !o.ok && o.error.status >= 400 && o.error.status !== 502).length };
}

/**
 * Sends one record's writes and returns their ledger entries.
 * @throws the decisive entry's UpstreamError when an entry was refused, or the target's error.
 */
export async function sendTransaction(target: FhirTarget, writes: PlannedWrite[]): Promise<LedgerEntry[]> {
  const { parts } = await sendTransactionParts(target, [transactionPart(writes)]);
  const [part] = parts;
  if (!part.ok) {
    throw part.error;
  }
  return part.ledger;
}

/**
 * Whether the target refused a whole transaction as too large for it (Medplum with atomic transactions:
 * 400 "Transaction requires strict isolation but has too many entries" past 8 entries when any is
 * conditional; 413 elsewhere). Such a Bundle is sent again in smaller ones, not held against a record.
 */
export function refusedAsTooLarge(err: unknown): boolean {
  if (!(err instanceof UpstreamError) || (err.status !== 400 && err.status !== 413)) {
    return false;
  }
  const texts = (err.outcome.issue ?? []).map((i) => `${i.details?.text ?? ''} ${i.diagnostics ?? ''}`).join(' ');
  return err.status === 413 || /too many entries|too many (conditional|operations)|strict isolation|too large/i.test(texts);
}

/**
 * The largest transaction to try after one of `sent` entries was refused as too large: a number the
 * target names in its refusal ("at most 8 entries"), else half of what was sent.
 */
export function lowerTransactionLimit(err: unknown, sent: number): number {
  const texts = err instanceof UpstreamError ? (err.outcome.issue ?? []).map((i) => i.details?.text ?? '').join(' ') : '';
  const named = /(?:at most|maximum(?: of)?|max(?:imum)? is|limit(?: is)?)\s+(\d+)/i.exec(texts);
  const n = named ? Number(named[1]) : Math.floor(sent / 2);
  return Math.max(1, Math.min(n, sent - 1));
}
