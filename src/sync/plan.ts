/**
 * Decide: turns a record (and its dependencies) into the resources to write on a target, as pure
 * functions of what the load stage read (plan-facts.ts): maps them, skips what the ledger shows is
 * already there unchanged, resolves every conditional reference and validates.
 *
 * With the target's capabilities it also decides what the target can hold: a resource type it cannot
 * write (or, once written, cannot change) stays in our store, and references to such types become
 * logical references by our identifier (logical-refs.ts). The plan says which of the main record's
 * resources cannot go, so the record gets the explicit state "not writable on this target".
 *
 * No store and no target here. Some facts are worth reading only when the plan gets to them (the state
 * of a dependency that is not on the target yet; a Patient or Practitioner looked up on the target):
 * `planWrites` then answers with what it needs instead of a plan, the load stage reads it and asks again.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { RecordKind } from '../domain/records.js';
import type { TargetCapabilities } from '../fhir/capabilities.js';
import type { MappedResource } from '../mapping/index.js';
import { validateOutbound } from '../profiles/validate.js';
import type { LedgerEntry, SyncStateName } from '../store/port.js';
import type { RecordToMap } from './context.js';
import { HoldError } from './hold.js';
import { authorRef, identityFactKey, ledgerFactKey, type MappedItem, type PlanFacts, type PlanNeeds } from './plan-inputs.js';
import { depKey, ledgerKey } from './wait-keys.js';
import { toLogicalReferences } from './logical-refs.js';
import { type ConditionalRef, forEachReference, parseConditionalRef, rewriteReferences } from './references.js';

export * from './plan-inputs.js';

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

/** A plan, or what it needs read first. */
export type PlanStep = { plan: Plan } | { needs: PlanNeeds };

export interface PlanOptions {
  /** The target's capabilities; without them everything is assumed writable (a full FHIR server). */
  caps?: TargetCapabilities;
}

/** Practitioner and Patient are looked up on the target (by NPI, MRN), never written by a reference. */
const LOOKED_UP = new Set(['Patient', 'Practitioner']);

/** A ledger fact, or undefined after noting it as needed. */
class Asker {
  readonly needs: PlanNeeds = { ledger: [], states: [], identities: [] };
  constructor(private readonly facts: PlanFacts) {}

  get asked(): boolean {
    return this.needs.ledger.length + this.needs.states.length + this.needs.identities.length > 0;
  }

  ledger(resourceType: string, identifier: string): LedgerEntry | undefined {
    const k = ledgerFactKey(resourceType, identifier);
    if (!this.facts.ledger.has(k)) {
      this.needs.ledger.push({ resourceType, identifier });
      return undefined;
    }
    return this.facts.ledger.get(k) ?? undefined;
  }

  state(kind: RecordKind, id: string): SyncStateName | undefined {
    const k = `${kind}/${id}`;
    if (!this.facts.states.has(k)) {
      this.needs.states.push({ kind, id });
      return undefined;
    }
    return this.facts.states.get(k);
  }

  /** The looked-up reference; a placeholder while not looked up yet (the plan is then not used). */
  identity(ref: ConditionalRef): string {
    const f = this.facts.identities.get(identityFactKey(ref));
    if (!f) {
      this.needs.identities.push(ref);
      return `${ref.resourceType}/not-looked-up-yet`;
    }
    if ('error' in f) {
      throw f.error;
    }
    return f.reference;
  }
}

/**
 * Decide (pure): plans the writes for the main record and whatever of its dependencies is not yet on
 * the target, from the facts read. Returns the facts still needed instead when the plan reached one not
 * read yet (then nothing it decided counts, a failure included: it may stem from the missing fact).
 * @throws HoldError when a reference cannot be resolved yet; OperationOutcomeError when output is invalid.
 */
export function planWrites(mapped: MappedItem[], facts: PlanFacts, options: PlanOptions = {}): PlanStep {
  const ask = new Asker(facts);
  try {
    const plan = decidePlan(mapped, ask, options.caps);
    return ask.asked ? { needs: ask.needs } : { plan };
  } catch (err) {
    if (ask.asked) {
      return { needs: ask.needs };
    }
    throw err;
  }
}

function decidePlan(mapped: MappedItem[], ask: Asker, caps: TargetCapabilities | undefined): Plan {
  const records = mapped.map((m) => m.item);
  const main = mapped[mapped.length - 1];
  const candidates: Omit<PlannedWrite, 'resource'>[] = [];
  const notWritable: Plan['notWritable'] = [];
  const unchanged: LedgerEntry[] = [];
  const superseded: LedgerEntry[] = [];
  let mainPresent = 0;
  for (const m of mapped) {
    if (m.error !== undefined) {
      throw m.error;
    }
    const { isMain, item } = m;
    for (const { mapped: one, mapping, hash, identifier } of m.resources) {
      const type = one.resource.resourceType;
      const known = ask.ledger(type, identifier);
      // Dependencies already on the target are only referenced; the main record is rewritten when changed.
      if (known && (!isMain || known.contentHash === hash)) {
        if (isMain) {
          unchanged.push(known);
          mainPresent++;
        }
        continue;
      }
      // A create-if-none-exist resource (someone else's Practitioner) is never updated, so it needs no update.
      const why = caps ? cannotWrite(caps, type, !!known && one.write === 'upsert') : undefined;
      if (why) {
        if (isMain) {
          // An older version may be on the target; the record's current one cannot go: not-writable says so.
          notWritable.push({ resourceType: type, why });
        }
        continue;
      }
      if (!isMain) {
        queuedDependencyHold(item, ask.state(item.record.kind, item.record.id));
      }
      if (isMain) {
        mainPresent++;
      }
      if (known) {
        superseded.push(known);
      }
      candidates.push({
        mapped: one,
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
  const resolve = (r: string): string | typeof UNHOLDABLE => {
    if (!resolved.has(r)) {
      resolved.set(r, resolveReference(r, inBundle, ask, caps));
    }
    return resolved.get(r) as string | typeof UNHOLDABLE;
  };
  for (const c of candidates) {
    forEachReference(c.mapped.resource, (r) => void resolve(r));
  }

  const logical = new Set<string>();
  const writes: PlannedWrite[] = [];
  for (const c of candidates) {
    const withLogical = toLogicalReferences(c.mapped.resource, (r) => resolved.get(r) === UNHOLDABLE);
    withLogical.replaced.forEach((r) => logical.add(parseConditionalRef(r)?.resourceType ?? r));
    const resource = rewriteReferences(withLogical.value, (r) => (resolved.get(r) as string | undefined) ?? r);
    validateOutbound(resource);
    const source = records.find((i) => i.record.kind === c.mapped.sourceKind && i.record.id === c.mapped.sourceId);
    const author = source ? authorOf(source, resolve) : undefined;
    writes.push({ ...c, resource, ...(author ? { author } : {}) });
  }
  const mainAuthor = authorOf(main.item, resolve);
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
function queuedDependencyHold(item: RecordToMap, state: SyncStateName | undefined): void {
  if (state === 'dead-letter') {
    throw new HoldError(
      'waiting-for-dependency',
      `${item.record.kind} ${item.record.id} is in the dead-letter list of this target; replay it first`,
      [depKey(item.record.kind, item.record.id)]
    );
  }
  if (state === 'pending' || state === 'failed') {
    throw new HoldError('waiting-for-dependency', `${item.record.kind} ${item.record.id} is queued and goes first`, [depKey(item.record.kind, item.record.id)]);
  }
}

/** The clinician a session or note names, resolved on the target (Provenance author). */
function authorOf(item: RecordToMap, resolve: (r: string) => string | typeof UNHOLDABLE): string | undefined {
  const ref = authorRef(item);
  if (!ref) {
    return undefined;
  }
  const r = resolve(ref);
  return typeof r === 'string' ? r : undefined;
}

/** A reference to a resource type the target cannot hold: made a logical reference (logical-refs.ts). */
const UNHOLDABLE = Symbol('unholdable');

function resolveReference(reference: string, inBundle: Map<string, string>, ask: Asker, caps: TargetCapabilities | undefined): string | typeof UNHOLDABLE {
  const ref = parseConditionalRef(reference);
  if (!ref) {
    return reference;
  }
  const local = inBundle.get(`${ref.resourceType}?${ref.identifier}`);
  if (local) {
    return local;
  }
  const known = ask.ledger(ref.resourceType, ref.identifier);
  if (known) {
    return `${known.resourceType}/${known.resourceId}`;
  }
  // The client's Patient (by MRN) and the therapist (by NPI) come from the EHR itself: always looked up.
  const registered = ref.resourceType === 'Patient' || (ref.resourceType === 'Practitioner' && ref.system === NPI_SYSTEM);
  if (!registered && caps && !caps.can(ref.resourceType, 'create')) {
    return UNHOLDABLE; // ours to write, and this target cannot hold it
  }
  if (LOOKED_UP.has(ref.resourceType)) {
    return ask.identity(ref);
  }
  throw new HoldError('waiting-for-dependency', `${ref.resourceType} ${ref.value} is not on the target yet`, [ledgerKey(ref.resourceType, ref.identifier)]);
}
