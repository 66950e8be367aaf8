/**
 * The sync's decide and commit stages as plain functions of plain data: no store, no target, no server
 * (issue #12 item 1). Each case is one the end-to-end tests show by side effect: a record held for a
 * missing Patient, blocked or held by consent, unchanged content not resent, a superseded version,
 * a dependency that goes first, not writable on the target, parked after max attempts, a 429 pausing
 * the target.
 */
import { createConsentGate, type ConsentFacts } from '../../../src/consent/gate.js';
import type { AnyRecord, RecordKind } from '../../../src/domain/records.js';
import { fromParts, type TargetCapabilities, type TypeCapabilities } from '../../../src/fhir/capabilities.js';
import { UpstreamError } from '../../../src/fhir/upstream-error.js';
import { loadMappings } from '../../../src/mapping/index.js';
import { contentHash } from '../../../src/store/hash.js';
import type { LedgerEntry, OutboxEntry, Store, StoredRecord } from '../../../src/store/port.js';
import { commitFailure, commitResult, type CommitSettings } from '../../../src/sync/commit.js';
import { recordsToMap, type RecordIndex, withDisclosure } from '../../../src/sync/context.js';
import { consentRefsOf, disclosureVerdict, modeFor, preparedOf, withDecisionWaits } from '../../../src/sync/decide.js';
import type { DisclosureDecision } from '../../../src/sync/gate.js';
import { HoldError } from '../../../src/sync/hold.js';
import { identityOf } from '../../../src/sync/identity.js';
import { emptyFacts, identityFactKey, ledgerFactKey, mapForPlan, type MappedItem, type Plan, type PlanFacts, planLedgerKeys, planWrites } from '../../../src/sync/plan.js';
import { consent, MRN, note, participants, session } from '../../consent/builders.js';

const config = { ns: 'https://fhir.example-practice.org', mrnSystem: 'https://fhir.example-hospital.org/sid/mrn' };
const NPI = 'http://hl7.org/fhir/sid/us-npi';
const mappings = loadMappings();
const TYPES = ['Patient', 'Practitioner', 'RelatedPerson', 'Encounter', 'Consent', 'DocumentReference', 'Provenance'];

/** A target's capabilities as plain data: every type fully writable and searchable unless `drop` says otherwise. */
function caps(o: { transaction?: boolean; batch?: boolean; conditional?: boolean; drop?: Record<string, string[]> } = {}): TargetCapabilities {
  const types = new Map<string, TypeCapabilities>();
  for (const t of TYPES) {
    const all = ['read', 'vread', 'create', 'update', 'patch', 'search-type'];
    types.set(t, {
      interactions: new Set(all.filter((i) => !(o.drop?.[t] ?? []).includes(i))),
      conditionalCreate: o.conditional ?? true,
      conditionalUpdate: o.conditional ?? true,
      versioned: true,
      searchParams: new Set(['identifier', '_tag', 'patient']),
    });
  }
  return fromParts(o.transaction ?? true, o.batch ?? true, types);
}

function stored(kind: RecordKind, body: AnyRecord, version = 1, clientMrn: string | null = MRN): StoredRecord {
  return { kind, id: body.id, version, clientMrn, body, hash: contentHash(body), receivedAt: '2026-02-02T12:00:00.000Z', updatedAt: '2026-02-02T12:00:00.000Z' };
}

function indexOf(...records: StoredRecord[]): RecordIndex {
  return new Map(records.map((r) => [`${r.kind}/${r.id}`, r]));
}

const mother = stored('participant', participants.mother);
const sess = stored('session', session({ id: 's-1' }));
const permit: DisclosureDecision = { effect: 'permit', reasons: [], consentIds: ['c-001'], purposeOfUse: 'TREAT', consents: [consent()], waitFor: ['party:MRN-1001/p-001'] };

function mappedOf(main: StoredRecord, index: RecordIndex, decision: DisclosureDecision = permit): MappedItem[] {
  return mapForPlan(withDisclosure(recordsToMap(main, index, config), decision), mappings);
}

function ledgerOf(type: string, identifier: string, over: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    target: 't',
    kind: 'participant',
    recordId: 'p-001',
    resourceType: type,
    identifier,
    resourceId: `${type.toLowerCase()}-1`,
    versionId: '1',
    recordVersion: 1,
    mapping: 'm@1',
    contentHash: 'old',
    syncedAt: '2026-02-01T00:00:00.000Z',
    ...over,
  };
}

/** Facts with every ledger key the plan reads answered: absent, unless given. */
function factsFor(mapped: MappedItem[], known: LedgerEntry[] = [], identities: Record<string, string | Error> = {}): PlanFacts {
  const facts = emptyFacts();
  for (const k of planLedgerKeys(mapped)) {
    facts.ledger.set(ledgerFactKey(k.resourceType, k.identifier), null);
  }
  for (const l of known) {
    facts.ledger.set(ledgerFactKey(l.resourceType, l.identifier), l);
  }
  for (const [ref, v] of Object.entries(identities)) {
    const [resourceType, identifier] = ref.split('?');
    const [system, value] = identifier.split('|');
    facts.identities.set(identityFactKey({ resourceType, identifier, system, value }), typeof v === 'string' ? { reference: v } : { error: v });
  }
  return facts;
}

const patientRef = `Patient?${config.mrnSystem}|${MRN}`;
const practitionerRef = `Practitioner?${NPI}|1234567893`;

function planOf(mapped: MappedItem[], facts: PlanFacts, c = caps()): Plan {
  const step = planWrites(mapped, facts, { caps: c });
  if (!('plan' in step)) {
    throw new Error(`the plan still needs ${JSON.stringify(step.needs)}`);
  }
  return step.plan;
}

describe('decide: the plan', () => {
  test('asks for the Patient lookup it needs, then holds the record when the target has no such Patient', () => {
    const mapped = mappedOf(mother, indexOf(mother));
    const facts = factsFor(mapped);
    const step = planWrites(mapped, facts, { caps: caps() });
    expect(step).toEqual({ needs: { ledger: [], states: [], identities: [expect.objectContaining({ resourceType: 'Patient', value: MRN })] } });
    let hold: unknown;
    try {
      identityOf({ resourceType: 'Patient', system: config.mrnSystem, value: MRN, identifier: `${config.mrnSystem}|${MRN}` }, { resourceType: 'Bundle', type: 'searchset', entry: [] });
    } catch (err) {
      hold = err;
    }
    expect(hold).toMatchObject({ code: 'patient-not-found' });
    const held = factsFor(mapped, [], { [patientRef]: hold as Error });
    expect(() => planWrites(mapped, held, { caps: caps() })).toThrow(expect.objectContaining({ code: 'patient-not-found' }));
  });

  test('two Patients with the MRN hold the record as ambiguous', () => {
    const ref = { resourceType: 'Patient', system: config.mrnSystem, value: MRN, identifier: `${config.mrnSystem}|${MRN}` };
    const two = { resourceType: 'Bundle' as const, type: 'searchset' as const, entry: [{ resource: { resourceType: 'Patient' as const, id: 'a' } }, { resource: { resourceType: 'Patient' as const, id: 'b' } }] };
    expect(() => identityOf(ref, two)).toThrow(expect.objectContaining({ code: 'patient-ambiguous' }));
    expect(identityOf(ref, { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { resourceType: 'Patient', id: 'a' } }] })).toBe('Patient/a');
  });

  test('a new participant is written once, its Patient reference resolved to what the target holds', () => {
    const mapped = mappedOf(mother, indexOf(mother));
    const plan = planOf(mapped, factsFor(mapped, [], { [patientRef]: 'Patient/pat-9' }));
    expect(plan.writes).toHaveLength(1);
    expect(plan.writes[0]).toMatchObject({ existing: false, resource: { resourceType: 'RelatedPerson', patient: { reference: 'Patient/pat-9' } } });
    expect(plan).toMatchObject({ mainWritable: true, unchanged: [], superseded: [] });
  });

  test('unchanged content is not resent: the ledger entry with the same content hash is kept as unchanged', () => {
    const mapped = mappedOf(mother, indexOf(mother));
    const [one] = mapped[0].resources;
    const onTarget = ledgerOf('RelatedPerson', one.identifier, { contentHash: one.hash });
    const plan = planOf(mapped, factsFor(mapped, [onTarget], { [patientRef]: 'Patient/pat-9' }));
    expect(plan.writes).toEqual([]);
    expect(plan.unchanged).toEqual([onTarget]);
    expect(plan.mainWritable).toBe(true);
  });

  test('changed content rewrites the resource and names the version it supersedes', () => {
    const mapped = mappedOf(mother, indexOf(mother));
    const [one] = mapped[0].resources;
    const older = ledgerOf('RelatedPerson', one.identifier, { contentHash: 'an older content', versionId: '3' });
    const plan = planOf(mapped, factsFor(mapped, [older], { [patientRef]: 'Patient/pat-9' }));
    expect(plan.writes).toHaveLength(1);
    expect(plan.writes[0].existing).toBe(true);
    expect(plan.superseded).toEqual([older]);
  });

  test('a dependency not on the target: its state is asked for; queued, it goes first and the record waits for it', () => {
    const mapped = mappedOf(sess, indexOf(sess, mother));
    const facts = factsFor(mapped, [], { [patientRef]: 'Patient/pat-9', [practitionerRef]: 'Practitioner/dr-1' });
    const step = planWrites(mapped, facts, { caps: caps() });
    expect(step).toEqual({ needs: { ledger: [], states: [{ kind: 'participant', id: 'p-001' }], identities: [] } });
    facts.states.set('participant/p-001', 'pending');
    expect(() => planWrites(mapped, facts, { caps: caps() })).toThrow(expect.objectContaining({ code: 'waiting-for-dependency', waitFor: ['dep:participant/p-001'] }));
    // Held for good reason (no consent of its own): it goes along with the session, in the same Bundle.
    facts.states.set('participant/p-001', 'held');
    const plan = planOf(mapped, facts);
    expect(plan.writes.map((w) => w.resource.resourceType)).toEqual(['RelatedPerson', 'Encounter']);
    const encounter = plan.writes[1].resource as { participant?: { individual?: { reference?: string } }[] };
    expect(encounter.participant?.map((p) => p.individual?.reference)).toContain(plan.writes[0].fullUrl);
    expect(plan.mainAuthor).toBe('Practitioner/dr-1');
  });

  test('a dependency already on the target is only referenced', () => {
    const mapped = mappedOf(sess, indexOf(sess, mother));
    const rp = ledgerOf('RelatedPerson', mapped[0].resources[0].identifier, { resourceId: 'rp-7' });
    const plan = planOf(mapped, factsFor(mapped, [rp], { [patientRef]: 'Patient/pat-9', [practitionerRef]: 'Practitioner/dr-1' }));
    expect(plan.writes.map((w) => w.resource.resourceType)).toEqual(['Encounter']);
    expect(JSON.stringify(plan.writes[0].resource)).toContain('RelatedPerson/rp-7');
  });

  test('a note waits for its session when it is not received: assembling its records holds it', () => {
    const n = stored('note', note({ id: 'n-1', sessionId: 's-404' }));
    expect(() => recordsToMap(n, indexOf(n), config)).toThrow(expect.objectContaining({ code: 'waiting-for-record', waitFor: ['record:session/s-404'] }));
  });

  test('a type the target cannot create makes the record not writable, kept in our store', () => {
    const mapped = mappedOf(mother, indexOf(mother));
    const noRp = caps({ drop: { RelatedPerson: ['create', 'update', 'patch'] } });
    const plan = planOf(mapped, factsFor(mapped, [], { [patientRef]: 'Patient/pat-9' }), noRp);
    expect(plan).toMatchObject({ writes: [], mainWritable: false, notWritable: [{ resourceType: 'RelatedPerson', why: 'the target cannot create RelatedPerson' }] });
    const prepared = preparedOf({ record: mother, plan, caps: noRp, decision: permit, consentRefs: {}, mode: { atomic: true, maxEntries: 50 } });
    expect(prepared).toEqual({ outcome: 'not-writable', reason: expect.stringContaining('the target cannot create RelatedPerson'), ledger: [] });
  });
});

describe('decide: the disclosure gate and the write mode', () => {
  const entry: OutboxEntry = { seq: 1, kind: 'session', recordId: 's-1', target: 't', recordVersion: 1, clientKey: MRN, attempts: 0, failures: 0 };
  /** A store the gate's decide stage must never touch. */
  const noStore = new Proxy({}, { get: () => { throw new Error('the decide stage read the store'); } }) as Pick<Store, 'records' | 'ledger'>;
  const gate = createConsentGate(noStore, { timeZone: 'UTC' });
  const now = new Date('2026-02-02T12:00:00Z');
  const records = recordsToMap(sess, indexOf(sess, mother), config);

  test('blocked by consent: a psychotherapy note is denied and settled at once, waking its dependents', () => {
    const pn = stored('note', note({ id: 'n-pn', sessionId: 's-1', kind: 'psychotherapy-note' }));
    const facts: ConsentFacts = { consents: [consent()], participants: [participants.mother], onTarget: false };
    const decision = gate.decideWith({ main: pn, records: recordsToMap(pn, indexOf(pn, sess, mother), config), target: 't', now }, facts);
    expect(decision.effect).toBe('deny');
    const verdict = disclosureVerdict({ ...entry, kind: 'note', recordId: 'n-pn' }, decision);
    expect(verdict).toEqual({ settle: expect.objectContaining({ state: 'blocked', wake: ['dep:note/n-pn'] }) });
  });

  test('held by consent: no consent covers the participant; the hold waits on the participant and the recheck at the next consent start', () => {
    const later = consent({ id: 'c-later', period: { start: '2026-03-01', end: '2027-01-09' } });
    const decision = gate.decideWith({ main: sess, records, target: 't', now }, { consents: [later], participants: [participants.mother], onTarget: false });
    expect(decision.effect).toBe('hold');
    const verdict = disclosureVerdict(entry, decision);
    expect('hold' in verdict && verdict.hold).toMatchObject({ code: 'no-consent', waitFor: ['party:MRN-1001/p-001'], recheckAt: new Date('2026-03-01T00:00:00Z') });
  });

  test('permitted by a consent covering the participant: on to the plan; a later hold also waits on the consent keys', () => {
    const decision = gate.decideWith({ main: sess, records, target: 't', now }, { consents: [consent()], participants: [participants.mother], onTarget: false });
    expect(decision).toMatchObject({ effect: 'permit', consentIds: ['c-001'], purposeOfUse: 'TREAT' });
    expect(disclosureVerdict(entry, decision)).toEqual({ go: true });
    const later = withDecisionWaits(new HoldError('patient-not-found', 'no Patient'), decision);
    expect(later).toMatchObject({ code: 'patient-not-found', waitFor: ['party:MRN-1001/p-001'] });
    const other = new Error('not a hold');
    expect(withDecisionWaits(other, decision)).toBe(other);
  });

  test('the consents the target holds become Provenance policy references', () => {
    const held = ledgerOf('Consent', `${config.ns}/sid/roi|c-001`, { resourceId: 'cons-5' });
    expect(consentRefsOf(['c-001', 'c-002'], config.ns, (k) => (k.identifier === held.identifier ? held : undefined))).toEqual({ 'c-001': 'Consent/cons-5' });
  });

  test('the write mode: a transaction where atomic, conditional and within the limit; else batch, else sequential', () => {
    const mapped = mappedOf(sess, indexOf(sess, mother));
    const facts = factsFor(mapped, [], { [patientRef]: 'Patient/pat-9', [practitionerRef]: 'Practitioner/dr-1' });
    facts.states.set('participant/p-001', 'held');
    const { writes } = planOf(mapped, facts);
    expect(modeFor(caps(), writes, { atomic: true, maxEntries: 50 })).toBe('transaction');
    expect(modeFor(caps(), writes, { atomic: false, maxEntries: 50 })).toBe('batch');
    expect(modeFor(caps(), writes, { atomic: true, maxEntries: 1 })).toBe('batch');
    expect(modeFor(caps({ conditional: false }), writes, { atomic: true, maxEntries: 50 })).toBe('batch');
    expect(modeFor(caps({ batch: false }), writes, { atomic: false, maxEntries: 50 })).toBe('sequential');
    expect(modeFor(caps(), writes, { atomic: true, maxEntries: 50, forced: 'sequential' })).toBe('sequential');
  });
});

describe('commit: settlements from results, without the store', () => {
  const settings: CommitSettings = {
    ns: config.ns,
    mrnSystem: config.mrnSystem,
    target: 't',
    targetBaseUrl: 'http://ehr.example/fhir',
    retry: { maxAttempts: 3, maxAgeMs: 86_400_000, minBackoffMs: 100, maxBackoffMs: 10_000 },
    heldRecheckMs: 3_600_000,
  };
  const clock = { now: Date.parse('2026-02-02T12:00:00Z'), random: () => 0.5 };
  const entry: OutboxEntry = { seq: 7, kind: 'participant', recordId: 'p-001', target: 't', recordVersion: 2, clientKey: MRN, attempts: 0, failures: 0 };
  const attempt = { entry, audited: mother, decision: permit };
  const rp = ledgerOf('RelatedPerson', `${config.ns}/sid/collateral-contact|x`, { resourceId: 'rp-1', versionId: '4' });
  const prov = ledgerOf('Provenance', `${config.ns}/sid/sync-write|k`, { resourceId: 'pv-1' });
  const answered = (status: number, retryAfterMs?: number): UpstreamError =>
    UpstreamError.answered(status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', details: { text: 'busy' } }] }, retryAfterMs);

  test('written: synced, with a disclosure audit naming the resources (not the Provenance) and the wake-ups it causes', () => {
    const c = commitResult(attempt, { outcome: 'written', mode: 'transaction', ledger: [rp, prov] }, settings, clock);
    expect(c.settlement).toMatchObject({ state: 'synced', ledger: [rp, prov], wake: ['dep:participant/p-001', `client:${MRN}`, `ledger:RelatedPerson|${rp.identifier}`] });
    const audit = c.settlement.state === 'synced' ? c.settlement.audit ?? [] : [];
    expect(audit).toHaveLength(1);
    const refs = JSON.stringify(audit[0]);
    expect(refs).toContain('RelatedPerson/rp-1/_history/4');
    expect(refs).not.toContain('Provenance/pv-1');
    expect(c.pauseTargetMs).toBeUndefined();
  });

  test('unchanged: synced without a disclosure (nothing was sent)', () => {
    const c = commitResult(attempt, { outcome: 'unchanged', ledger: [] }, settings, clock);
    expect(c.settlement).toMatchObject({ state: 'synced', ledger: [], wake: ['dep:participant/p-001', `client:${MRN}`] });
    expect('audit' in c.settlement && c.settlement.audit).toBeFalsy();
  });

  test('not writable: its own state, waking its dependents', () => {
    const c = commitResult(attempt, { outcome: 'not-writable', reason: 'the target cannot create RelatedPerson', ledger: [] }, settings, clock);
    expect(c.settlement).toMatchObject({ state: 'not-writable', reason: 'the target cannot create RelatedPerson', wake: ['dep:participant/p-001'] });
  });

  test('429 with Retry-After: retried no earlier, not counted as a failure, and the whole target pauses', () => {
    const c = commitResult(attempt, { outcome: 'failed', mode: 'batch', error: answered(429, 7000), attempted: [], ledger: [] }, settings, clock);
    expect(c.settlement).toMatchObject({ state: 'failed', code: 'upstream-429', countFailure: false, nextAttemptAt: new Date(clock.now + 7000) });
    expect(c.pauseTargetMs).toBe(7000);
    // The failed attempt is audited too (an attempt, not a disclosure).
    const audit = c.settlement.state === 'failed' ? c.settlement.audit ?? [] : [];
    expect(audit).toHaveLength(1);
    expect(audit[0].event.outcome).not.toBe('0');
  });

  test('parked after max attempts: the third counted failure is a dead letter', () => {
    expect(commitFailure({ ...entry, failures: 1 }, answered(503), settings, undefined, clock).settlement).toMatchObject({ state: 'failed', countFailure: true });
    const parked = commitFailure({ ...entry, failures: 2 }, answered(503), settings, undefined, clock);
    expect(parked.settlement).toMatchObject({ state: 'dead-letter', code: 'retries-exhausted', wake: ['dep:participant/p-001'] });
  });

  test('held for a missing Patient: waits for its client (a record of it reaching the target) and at most the slow recheck', () => {
    const c = commitFailure(entry, new HoldError('patient-not-found', 'no Patient with MRN'), settings, undefined, clock);
    expect(c.settlement).toMatchObject({ state: 'held', code: 'patient-not-found', waitFor: [`client:${MRN}`], recheckAt: new Date(clock.now + 3_600_000) });
  });

  test('a 405 asks for the CapabilityStatement again; a bug is named as an internal error', () => {
    expect(commitFailure(entry, answered(405), settings, undefined, clock).refreshCapabilities).toBe(true);
    expect(commitFailure(entry, new TypeError('x is undefined'), settings, undefined, clock)).toMatchObject({ internalError: 'TypeError', settlement: { state: 'failed' } });
  });
});
