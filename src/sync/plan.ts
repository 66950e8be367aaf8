/**
 * Turns a record (and its dependencies) into the resources to write on a target: maps them, skips what
 * the ledger shows is already there unchanged, resolves every conditional reference and validates.
 *
 * With the target's capabilities it also decides what the target can hold: a resource type it cannot
 * write (or, once written, cannot change) stays in our store, and references to such types become
 * logical references by our identifier (logical-refs.ts). The plan says which of the main record's
 * resources cannot go, so the record gets the explicit state "not writable on this target".
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { NoteRecord, SessionRecord } from '../domain/records.js';
import type { TargetCapabilities } from '../fhir/capabilities.js';
import { mapRecord, type MappedResource, type MappingSet } from '../mapping/index.js';
import { validateOutbound } from '../profiles/validate.js';
import { contentHash } from '../store/hash.js';
import type { LedgerEntry, Store } from '../store/port.js';
import type { RecordToMap } from './context.js';
import { HoldError } from './hold.js';
import { depKey, ledgerKey } from './wait-keys.js';
import type { IdentityResolver } from './identity.js';
import { toLogicalReferences } from './logical-refs.js';
import { forEachReference, parseConditionalRef, rewriteReferences } from './references.js';

const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

export interface PlannedWrite {
  mapped: MappedResource;
  /** The resource with literal or urn:uuid references, validated. */
  resource: Resource;
  fullUrl: string;
  contentHash: string;
  mapping: string;
  recordVersion: number;
  /** The ledger knows the resource: this write updates it. */
  existing: boolean;
  /** The clinician's Practitioner (`Practitioner/id`) the source record names: the Provenance author. */
  author?: string;
}

export interface Plan {
  writes: PlannedWrite[];
  /** The main record's resources that cannot go to this target, and why (kept in our store). */
  notWritable: { resourceType: string; why: string }[];
  /** The main record has something on the target or to send (false: it is not writable there at all). */
  mainWritable: boolean;
  /** Resource types referenced by identifier only, because the target cannot hold them. */
  logical: string[];
  /** Ledger entries of the main record's resources that are on the target unchanged. */
  unchanged: LedgerEntry[];
  /**
   * Ledger entries of the main record's resources this plan rewrites: the versions it supersedes on the
   * target. Their Provenances are settled before the new version goes (deliver.ts), so one whose create
   * had an unknown outcome is found (or written) while the ledger still names that version.
   */
  superseded: LedgerEntry[];
  /** The Practitioner of the clinician the main record names, when it names one. */
  mainAuthor?: string;
}

export interface PlanOptions {
  /** The target's capabilities; without them everything is assumed writable (a full FHIR server). */
  caps?: TargetCapabilities;
  /** Resources a record adds beyond its mapping (the signed ROI form as a DocumentReference). */
  extra?: (item: RecordToMap) => MappedResource[];
}

/** Practitioner and Patient are looked up on the target (by NPI, MRN), never written by a reference. */
const LOOKED_UP = new Set(['Patient', 'Practitioner']);

/**
 * Plans the writes for records[last] (the main record) and whatever of its dependencies is not yet on the target.
 * @throws HoldError when a reference cannot be resolved yet; OperationOutcomeError when output is invalid.
 */
export async function planWrites(
  records: RecordToMap[],
  mappings: MappingSet,
  store: Pick<Store, 'ledger' | 'status'>,
  targetName: string,
  identity: IdentityResolver,
  options: PlanOptions = {}
): Promise<Plan> {
  const { caps } = options;
  const main = records[records.length - 1];
  const candidates: Omit<PlannedWrite, 'resource'>[] = [];
  const notWritable: Plan['notWritable'] = [];
  const unchanged: LedgerEntry[] = [];
  const superseded: LedgerEntry[] = [];
  let mainPresent = 0;
  for (const item of records) {
    const result = mapRecord(mappings, item.record.kind, item.record.body, item.context);
    const isMain = item === main;
    const resources = [
      ...result.resources.map((mapped) => ({ mapped, mapping: `${result.mappingId}@${result.mappingVersion}` })),
      ...(isMain && options.extra ? options.extra(item).map((mapped) => ({ mapped, mapping: 'roi-document@1' })) : []),
    ];
    for (const { mapped, mapping } of resources) {
      const type = mapped.resource.resourceType;
      const hash = contentHash(mapped.resource);
      const identifier = `${mapped.key.system}|${mapped.key.value}`;
      const known = await store.ledger.getLedgerByIdentifier(targetName, type, identifier);
      // Dependencies already on the target are only referenced; the main record is rewritten when changed.
      if (known && (!isMain || known.contentHash === hash)) {
        if (isMain) {
          unchanged.push(known);
          mainPresent++;
        }
        continue;
      }
      // A create-if-none-exist resource (someone else's Practitioner) is never updated, so it needs no update.
      const why = caps ? cannotWrite(caps, type, !!known && mapped.write === 'upsert') : undefined;
      if (why) {
        if (isMain) {
          // An older version may be on the target; the record's current one cannot go: not-writable says so.
          notWritable.push({ resourceType: type, why });
        }
        continue;
      }
      if (!isMain) {
        await awaitQueuedDependency(store, targetName, item);
      }
      if (isMain) {
        mainPresent++;
      }
      if (known) {
        superseded.push(known);
      }
      candidates.push({
        mapped,
        fullUrl: `urn:uuid:${randomUUID()}`,
        contentHash: hash,
        mapping,
        recordVersion: item.record.version,
        existing: !!known,
      });
    }
  }

  const inBundle = new Map(
    candidates.map((c) => [`${c.mapped.resource.resourceType}?${c.mapped.key.system}|${c.mapped.key.value}`, c.fullUrl])
  );
  const resolved = new Map<string, string | typeof UNHOLDABLE>();
  const resolve = async (r: string): Promise<string | typeof UNHOLDABLE> => {
    if (!resolved.has(r)) {
      resolved.set(r, await resolveReference(r, inBundle, store, targetName, identity, caps));
    }
    return resolved.get(r) as string | typeof UNHOLDABLE;
  };
  for (const c of candidates) {
    const refs: string[] = [];
    forEachReference(c.mapped.resource, (r) => refs.push(r));
    for (const r of refs) {
      await resolve(r);
    }
  }

  const logical = new Set<string>();
  const writes: PlannedWrite[] = [];
  for (const c of candidates) {
    const withLogical = toLogicalReferences(c.mapped.resource, (r) => resolved.get(r) === UNHOLDABLE);
    withLogical.replaced.forEach((r) => logical.add(parseConditionalRef(r)?.resourceType ?? r));
    const resource = rewriteReferences(withLogical.value, (r) => (resolved.get(r) as string | undefined) ?? r);
    validateOutbound(resource);
    const source = records.find((i) => i.record.kind === c.mapped.sourceKind && i.record.id === c.mapped.sourceId);
    const author = source ? await authorOf(source, resolve) : undefined;
    writes.push({ ...c, resource, ...(author ? { author } : {}) });
  }
  const mainAuthor = await authorOf(main, resolve);
  return {
    writes,
    notWritable,
    mainWritable: mainPresent > 0,
    logical: [...logical].sort(),
    unchanged,
    superseded,
    ...(mainAuthor ? { mainAuthor } : {}),
  };
}

/** Why the target cannot take this resource type now (undefined: it can). */
function cannotWrite(caps: TargetCapabilities, type: string, exists: boolean): string | undefined {
  if (exists) {
    return caps.can(type, 'update') || caps.can(type, 'patch') ? undefined : `the target cannot update ${type}`;
  }
  return caps.can(type, 'create') ? undefined : `the target cannot create ${type}`;
}

/**
 * A dependency that is queued to go on its own (pending, failed and retrying) goes first, under its own
 * record and consent decision: the dependent waits and is woken when it lands. This also keeps two
 * records from writing the same resource at once (a note received before its session). One parked as a
 * dead letter would fail the dependent the same way: the dependent waits for its replay. A dependency
 * held for good reason (no consent of its own, but a session disclosed under an exception takes it
 * along) goes with the dependent, as before.
 */
async function awaitQueuedDependency(store: Pick<Store, 'status'>, targetName: string, item: RecordToMap): Promise<void> {
  const state = (await store.status.getSyncStates(item.record.kind, item.record.id)).find((s) => s.target === targetName);
  if (state?.state === 'dead-letter') {
    throw new HoldError(
      'waiting-for-dependency',
      `${item.record.kind} ${item.record.id} is in the dead-letter list of this target; replay it first`,
      [depKey(item.record.kind, item.record.id)]
    );
  }
  if (state?.state === 'pending' || state?.state === 'failed') {
    throw new HoldError('waiting-for-dependency', `${item.record.kind} ${item.record.id} is queued and goes first`, [depKey(item.record.kind, item.record.id)]);
  }
}

/** The clinician a session or note names, resolved on the target (Provenance author). */
async function authorOf(item: RecordToMap, resolve: (r: string) => Promise<string | typeof UNHOLDABLE>): Promise<string | undefined> {
  const npi =
    item.record.kind === 'session'
      ? (item.record.body as SessionRecord).therapist?.npi
      : item.record.kind === 'note'
        ? (item.record.body as NoteRecord).author?.npi
        : undefined;
  if (!npi) {
    return undefined;
  }
  const r = await resolve(`Practitioner?identifier=${NPI_SYSTEM}|${npi}`);
  return typeof r === 'string' ? r : undefined;
}

/** A reference to a resource type the target cannot hold: made a logical reference (logical-refs.ts). */
const UNHOLDABLE = Symbol('unholdable');

async function resolveReference(
  reference: string,
  inBundle: Map<string, string>,
  store: Pick<Store, 'ledger' | 'status'>,
  targetName: string,
  identity: IdentityResolver,
  caps: TargetCapabilities | undefined
): Promise<string | typeof UNHOLDABLE> {
  const ref = parseConditionalRef(reference);
  if (!ref) {
    return reference;
  }
  const local = inBundle.get(`${ref.resourceType}?${ref.identifier}`);
  if (local) {
    return local;
  }
  const known = await store.ledger.getLedgerByIdentifier(targetName, ref.resourceType, ref.identifier);
  if (known) {
    return `${known.resourceType}/${known.resourceId}`;
  }
  // The client's Patient (by MRN) and the therapist (by NPI) come from the EHR itself: always looked up.
  const registered = ref.resourceType === 'Patient' || (ref.resourceType === 'Practitioner' && ref.system === NPI_SYSTEM);
  if (!registered && caps && !caps.can(ref.resourceType, 'create')) {
    return UNHOLDABLE; // ours to write, and this target cannot hold it
  }
  if (LOOKED_UP.has(ref.resourceType)) {
    return identity.resolve(ref);
  }
  throw new HoldError('waiting-for-dependency', `${ref.resourceType} ${ref.value} is not on the target yet`, [ledgerKey(ref.resourceType, ref.identifier)]);
}
