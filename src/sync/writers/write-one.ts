/**
 * Writes one planned resource on a target without transactions, exactly once in effect
 * (docs/sync.md, section 2; FHIR R4 http.html conditional operations):
 * 1. the ledger knows it: update by id, guarded by If-Match (PUT), or PATCH where only patch is offered;
 *    a 409/412 re-reads the resource and re-applies on the version read;
 * 2. the target offers the conditional operation: conditional update (upsert) or If-None-Exist;
 * 3. else find it: search by identifier where the type supports it; where it does not (Oracle
 *    DocumentReference) a write intent recorded before an earlier create says whether one may have
 *    been applied, and a search by patient (+ encounter, type) compared on identifiers finds it;
 * 4. found: update it (or, for create-if-none-exist, just reference it); not found: create it.
 * A create is never resent blindly: an unknown outcome leaves no ledger entry, so the next attempt
 * searches first.
 */
import type { Identifier, Resource } from '@medplum/fhirtypes';
import type { TargetCapabilities } from '../../fhir/capabilities.js';
import type { JsonPatchOperation } from '../../fhir/port.js';
import { UpstreamError } from '../../fhir/upstream-error.js';
import { contentHash } from '../../store/hash.js';
import type { LedgerEntry, Store } from '../../store/port.js';
import type { PlannedWrite } from '../plan.js';
import { DuplicateOnTargetError, NotWritableError, UnresolvableOutcomeError } from './errors.js';
import type { Executor } from './exec.js';
import { identifierOf, ledgerFor, matchesOf, requireIdAndVersion } from './ledger.js';

/** Re-reads after a 409/412 before giving the conflict to the retry policy. */
const MAX_CONFLICT_ROUNDS = 3;
/** Top-level elements a write never removes: the server's own. */
const SERVER_OWNED = new Set(['id', 'meta', 'text']);

export interface WriteOneDeps {
  targetName: string;
  caps: TargetCapabilities;
  store: Pick<Store, 'ledger'>;
  exec: Executor;
}

export interface WriteOneResult {
  entry: LedgerEntry;
  /** The write created the resource (Provenance activity CREATE). */
  created: boolean;
  /** Something was written (false: found unchanged, or create-if-none-exist found it). */
  wrote: boolean;
  /**
   * The resource now carries our content and is ours to attest with a Provenance: also when an earlier
   * attempt's lost answer had already put it there. False only for someone else's resource that
   * create-if-none-exist found and left alone.
   */
  ours: boolean;
}

/**
 * Writes `resource` (w.resource with its references resolved to the target) and returns its ledger entry.
 * @throws NotWritableError, DuplicateOnTargetError, UnresolvableOutcomeError or the target's UpstreamError.
 */
export async function writeOne(w: PlannedWrite, resource: Resource, d: WriteOneDeps): Promise<WriteOneResult> {
  const type = resource.resourceType;
  const identifier = identifierOf(w);
  const tc = d.caps.type(type);
  const known = await d.store.ledger.getLedgerByIdentifier(d.targetName, type, identifier);
  if (known) {
    if (w.mapped.write === 'create-if-none-exist') {
      // Never overwritten, as in the transaction path (If-None-Exist): the ledger just learns our new content.
      return { entry: ledgerFor(d.targetName, w, known.resourceId, known.versionId), created: false, wrote: false, ours: false };
    }
    return updateExisting(w, resource, known.resourceId, known.versionId, d);
  }
  if (w.mapped.write === 'upsert' && tc?.conditionalUpdate && d.caps.can(type, 'update')) {
    const r = await d.exec.conditionalUpdate(resource, { identifier });
    const iv = requireIdAndVersion(r, `the conditional update of a ${type}`);
    return { entry: ledgerFor(d.targetName, w, iv.id, iv.versionId), created: r.status === 201, wrote: true, ours: true };
  }
  if (w.mapped.write === 'create-if-none-exist' && tc?.conditionalCreate && d.caps.can(type, 'create')) {
    const r = await d.exec.create(resource, { ifNoneExist: `identifier=${identifier}` });
    const iv = requireIdAndVersion(r, `the conditional create of a ${type}`);
    return { entry: ledgerFor(d.targetName, w, iv.id, iv.versionId), created: r.status === 201, wrote: r.status === 201, ours: r.status === 201 };
  }
  const found = await locate(w, resource, d);
  if (found) {
    if (w.mapped.write === 'create-if-none-exist') {
      // Someone else's resource (a Practitioner the EHR registered): referenced, never overwritten.
      return { entry: ledgerFor(d.targetName, w, found.id, found.versionId), created: false, wrote: false, ours: false };
    }
    return updateExisting(w, resource, found.id, found.versionId, d);
  }
  if (!d.caps.can(type, 'create')) {
    throw new NotWritableError(type, `the target cannot create ${type}`);
  }
  if (!d.caps.canSearch(type, 'identifier')) {
    // Write-ahead: if this create's answer is lost, the next attempt knows to look before creating.
    await d.store.ledger.putWriteIntent({
      target: d.targetName,
      resourceType: type,
      identifier,
      kind: w.mapped.sourceKind,
      recordId: w.mapped.sourceId,
      createdAt: new Date().toISOString(),
    });
  }
  const r = await d.exec.create(resource);
  const iv = requireIdAndVersion(r, `the create of a ${type}`);
  return { entry: ledgerFor(d.targetName, w, iv.id, iv.versionId), created: true, wrote: true, ours: true };
}

/** Updates Type/id to `resource`: PUT with If-Match, or PATCH where only patch is offered. */
async function updateExisting(w: PlannedWrite, resource: Resource, id: string, versionId: string, d: WriteOneDeps): Promise<WriteOneResult> {
  const type = resource.resourceType;
  const versioned = d.caps.type(type)?.versioned ?? false;
  const body = { ...resource, id } as Resource;
  const gone = async (err: unknown): Promise<never> => {
    // Deleted on the target since we wrote it: forget it, the next attempt finds or creates it afresh.
    if (statusOf(err) === 404 || statusOf(err) === 410) {
      await d.store.ledger.deleteLedger(d.targetName, type, identifierOf(w));
    }
    throw err;
  };
  if (d.caps.can(type, 'update')) {
    let ifMatch = versioned ? `W/"${versionId}"` : undefined;
    for (let round = 0; ; round++) {
      try {
        const r = await d.exec.update(body, ifMatch ? { ifMatch } : undefined);
        const iv = requireIdAndVersion(r, `the update of a ${type}`);
        return { entry: ledgerFor(d.targetName, w, iv.id, iv.versionId), created: false, wrote: true, ours: true };
      } catch (err) {
        if (!isConflict(err) || round >= MAX_CONFLICT_ROUNDS) {
          return gone(err);
        }
        // Someone changed it since we last saw it (or our own lost update did): re-read, re-apply on that version.
        const current = await d.exec.read(type, id).catch(gone);
        ifMatch = current.meta?.versionId ? `W/"${current.meta.versionId}"` : undefined;
      }
    }
  }
  if (d.caps.can(type, 'patch')) {
    for (let round = 0; ; round++) {
      const current = await d.exec.read(type, id).catch(gone);
      const version = current.meta?.versionId ?? versionId;
      const ops = topLevelPatch(current, body);
      if (ops.length === 0) {
        return { entry: ledgerFor(d.targetName, w, id, version), created: false, wrote: false, ours: true };
      }
      try {
        const r = await d.exec.patch(type, id, ops, versioned ? { ifMatch: `W/"${version}"` } : undefined);
        const iv = requireIdAndVersion(r, `the patch of a ${type}`);
        return { entry: ledgerFor(d.targetName, w, iv.id, iv.versionId), created: false, wrote: true, ours: true };
      } catch (err) {
        if (!isConflict(err) || round >= MAX_CONFLICT_ROUNDS) {
          return gone(err);
        }
      }
    }
  }
  throw new NotWritableError(type, `the target can create ${type} but not change it; the version first sent stays there`);
}

/**
 * A JSON Patch that makes `current` equal to `desired` at the top level: each of our elements set
 * (`add` replaces an existing member), each element we no longer send removed, the server's own kept.
 */
export function topLevelPatch(current: Resource, desired: Resource): JsonPatchOperation[] {
  const cur = current as unknown as Record<string, unknown>;
  const des = desired as unknown as Record<string, unknown>;
  const ops: JsonPatchOperation[] = [];
  for (const [key, value] of Object.entries(des)) {
    if (!SERVER_OWNED.has(key) && key !== 'resourceType' && (cur[key] === undefined || contentHash(cur[key]) !== contentHash(value))) {
      ops.push({ op: 'add', path: `/${key}`, value });
    }
  }
  for (const key of Object.keys(cur)) {
    if (!SERVER_OWNED.has(key) && key !== 'resourceType' && des[key] === undefined) {
      ops.push({ op: 'remove', path: `/${key}` });
    }
  }
  return ops;
}

/** The resource on the target that carries our identifier, if any. */
async function locate(w: PlannedWrite, resource: Resource, d: WriteOneDeps): Promise<{ id: string; versionId: string } | undefined> {
  const type = resource.resourceType;
  const identifier = identifierOf(w);
  if (d.caps.canSearch(type, 'identifier')) {
    const bundle = await d.exec.search(type, { identifier, _count: '2' });
    return single(matchesOf(bundle, type), type);
  }
  const intent = await d.store.ledger.getWriteIntent(d.targetName, type, identifier);
  if (!intent) {
    return undefined; // never sent: there is nothing to find
  }
  const params = fallbackSearch(resource, d.caps);
  if (!params) {
    throw new UnresolvableOutcomeError(type);
  }
  const bundle = await d.exec.search(type, { ...params, _count: '1000' });
  const hits = matchesOf(bundle, type).filter((r) => carries(r, w.mapped.key));
  return single(hits, type);
}

/**
 * Search parameters that narrow a type without identifier search down to one patient's resources
 * (Oracle DocumentReference: patient + encounter + type); undefined when none is offered.
 */
export function fallbackSearch(resource: Resource, caps: TargetCapabilities): Record<string, string> | undefined {
  const r = resource as unknown as {
    subject?: { reference?: string };
    patient?: { reference?: string };
    context?: { encounter?: { reference?: string }[] };
    type?: { coding?: { system?: string; code?: string }[] };
  };
  const type = resource.resourceType;
  const patientRef = r.subject?.reference ?? r.patient?.reference;
  const params: Record<string, string> = {};
  if (patientRef?.startsWith('Patient/') && caps.canSearch(type, 'patient')) {
    params.patient = patientRef;
  } else if (patientRef && caps.canSearch(type, 'subject')) {
    params.subject = patientRef;
  } else {
    return undefined;
  }
  const encounter = r.context?.encounter?.[0]?.reference;
  if (encounter && caps.canSearch(type, 'encounter')) {
    params.encounter = encounter;
  }
  const coding = r.type?.coding?.[0];
  if (coding?.code && caps.canSearch(type, 'type')) {
    params.type = coding.system ? `${coding.system}|${coding.code}` : coding.code;
  }
  return params;
}

function carries(r: Resource, key: { system: string; value: string }): boolean {
  const ids = (r as { identifier?: Identifier[] }).identifier ?? [];
  return ids.some((i) => i.system === key.system && i.value === key.value);
}

function single(matches: Resource[], type: string): { id: string; versionId: string } | undefined {
  if (matches.length > 1) {
    throw new DuplicateOnTargetError(type, matches.length);
  }
  const m = matches[0];
  return m?.id ? { id: m.id, versionId: m.meta?.versionId ?? '' } : undefined;
}

function statusOf(err: unknown): number | undefined {
  return err instanceof UpstreamError ? err.status : undefined;
}

function isConflict(err: unknown): boolean {
  const s = statusOf(err);
  return s === 409 || s === 412;
}
