/**
 * The guarantee behind the copy: before a delivered record settles, every resource the sync's ledger
 * says that record put on the target (and every one its attempt confirmed, Provenances included) is in
 * the copy at that version, or recorded in the copy's file as owed and read back as soon as the target
 * answers. The recording target (recording-target.ts) keeps most of them from the
 * write answers already, at no cost; this step finds the rest and reads them back from the target:
 * - an answer lost on the way (timeout, reset) and resolved by a search on the next attempt (the
 *   resource is found by identifier, unchanged, and not written again);
 * - a crash after the writers recorded the ledger and before the outbox settled;
 * - an attempt that failed after such a resource (or its Provenance) was recorded: the next attempt
 *   finds it "already known" and does not report it again.
 * A record's Provenances are found in the ledger by the identifier the sync gives the Provenance of
 * each resource version (sync/provenance.ts writeKey), one indexed lookup each.
 * Checking is one primary-key read of the copy per resource; a read-back is one GET on the target.
 */
import type { WithId } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirTarget } from '../fhir/port.js';
import { UpstreamError } from '../fhir/upstream-error.js';
import type { Logger } from '../logger.js';
import type { LedgerEntry, Store } from '../store/port.js';
import { writeKey, writeTagSystem } from '../sync/provenance.js';
import type { RecordKind } from '../domain/records.js';
import type { LocalCopy, PendingReadBack } from './store.js';

/** A record the worker delivered, with the ledger entries its attempt confirmed. */
export interface Delivered {
  kind: RecordKind;
  recordId: string;
  ledger: LedgerEntry[];
}

/** Read-backs tried per call: bounded, so one delivery never waits on a long backlog. */
const DRAIN_LIMIT = 100;

/**
 * Makes sure the copy will hold what these records put on the target: whatever it lacks is recorded as
 * owed (durably, in the copy's file) before the records settle, then read back at once where the target
 * answers. A read-back the target cannot answer now stays owed and is tried again on the next delivery
 * and every minute (drainOwed), so an unreachable target never holds up the settlement (and its
 * AuditEvents) nor loses a resource for the copy.
 * @throws only when the copy's own file cannot be written (then the records are retried).
 */
export async function ensureCopied(copy: LocalCopy, target: FhirTarget, store: Pick<Store, 'ledger'>, ns: string, delivered: Delivered[], logger?: Logger): Promise<void> {
  const wanted = new Map<string, PendingReadBack>();
  const add = (l: LedgerEntry): void => {
    wanted.set(`${l.resourceType}/${l.resourceId}`, { resourceType: l.resourceType, id: l.resourceId, versionId: l.versionId });
  };
  const tagSystem = writeTagSystem(ns);
  for (const d of delivered) {
    // The ledger first, this attempt's confirmations after (they are the newer where both name a resource).
    const resources = await store.ledger.getLedgerForRecord(target.name, d.kind, d.recordId);
    for (const l of resources) {
      add(l);
      const provenance = await store.ledger.getLedgerByIdentifier(target.name, 'Provenance', `${tagSystem}|${writeKey(target.name, l)}`);
      if (provenance) {
        add(provenance);
      }
    }
    d.ledger.forEach(add);
  }
  const missing: PendingReadBack[] = [];
  for (const w of wanted.values()) {
    const held = await copy.repo.readResource(w.resourceType, w.id).catch(() => undefined);
    if (!held || (w.versionId && held.meta?.versionId !== w.versionId)) {
      missing.push(w);
    }
  }
  await copy.owe(missing);
  if (missing.length > 0) {
    await drainOwed(copy, target, logger);
  }
}

/**
 * Reads back what the copy is owed, up to DRAIN_LIMIT. Stops at the first answer that says the target
 * cannot answer now (no answer, 5xx, 429); a resource gone from the target (404/410), or one it refuses
 * to let us read (another 4xx: a token without read scope), is dropped from the list with a log line.
 * @returns How many read-backs are still owed among those tried.
 */
export async function drainOwed(copy: LocalCopy, target: FhirTarget, logger?: Logger): Promise<number> {
  const owed = await copy.owed(DRAIN_LIMIT);
  const done: PendingReadBack[] = [];
  const resources: WithId<Resource>[] = [];
  for (const o of owed) {
    const ids = { resourceType: o.resourceType, id: o.id, versionId: o.versionId };
    try {
      const found = await readBack(target, o.resourceType, o.id, o.versionId);
      if (found) {
        logger?.info('local copy: read back from the target', ids);
        resources.push(found);
      } else {
        logger?.warn('local copy: a resource the ledger names is gone from the target; nothing to copy', ids);
      }
      done.push(o);
    } catch (err) {
      const status = err instanceof UpstreamError ? err.status : 0;
      if (status === 0 || status === 429 || status >= 500) {
        logger?.warn('local copy: the target cannot answer a read-back now; it stays owed', { ...ids, status });
        break;
      }
      logger?.error('local copy: the target refuses to let us read back what it accepted; the copy lacks it', { ...ids, status });
      done.push(o);
    }
  }
  await copy.settleOwed(done, resources);
  return owed.length - done.length;
}

/**
 * The version the ledger names (vread), or the current one where the target offers no vread for the
 * type (Oracle-like: 400/403/404/405/501 to a vread) or the ledger has no version; undefined when the
 * resource is gone (404/410 to the read).
 */
async function readBack(target: FhirTarget, type: string, id: string, versionId: string): Promise<WithId<Resource> | undefined> {
  if (versionId) {
    try {
      return (await target.vread(type, id, versionId)) as WithId<Resource>;
    } catch (err) {
      if (!(err instanceof UpstreamError && [400, 403, 404, 405, 410, 501].includes(err.status))) {
        throw err;
      }
    }
  }
  try {
    return (await target.read(type, id)) as WithId<Resource>;
  } catch (err) {
    if (err instanceof UpstreamError && (err.status === 404 || err.status === 410)) {
      return undefined;
    }
    throw err;
  }
}
