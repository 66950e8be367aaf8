/**
 * Everything about one record, for the console's record page: the source record, its sync state on
 * each target, the consent decision the gate would make now (with its reasons), the FHIR resources it
 * maps to now (with profile issues), the resources as last sent (read back from the target, with a
 * diff against the version before), and every write attempt from the local audit.
 *
 * Nothing is stored or sent: the mapping and the consent engine run as the sync would run them
 * (src/sync/context.ts, the same gate), and the target is only read.
 */
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { RecordKind } from '../domain/records.js';
import type { FhirTarget } from '../fhir/port.js';
import { mapRecord, type MappingConfig, type MappingSet } from '../mapping/index.js';
import { toOutcome } from '../outcomes.js';
import type { ProfilePack } from '../profiles/pack.js';
import { validateDeclared } from '../profiles/validate.js';
import { diffJson, type Difference } from '../profiles/workbench/diff.js';
import type { AuditEntry, LedgerEntry, Store, StoredRecord } from '../store/port.js';
import { gatherRecords, type RecordToMap, withDisclosure } from '../sync/context.js';
import type { DisclosureGate } from '../sync/gate.js';
import { HoldError } from '../sync/hold.js';
import { syncView, type SyncView } from '../http/record-view.js';

export interface RecordDetailDeps {
  store: Store;
  mappings: MappingSet;
  pack: ProfilePack;
  mappingConfig: MappingConfig;
  /** The disclosure gate the worker asks (consent/gate.ts). */
  gate: DisclosureGate;
  /** The sync targets by name, to read back what was sent (absent: not readable from here). */
  target: (name: string) => FhirTarget | undefined;
}

export interface ConsentView {
  target: string;
  effect?: 'permit' | 'hold' | 'deny';
  reasons: string[];
  consentIds?: string[];
  purposeOfUse?: string;
  /** Set when the decision cannot be made yet (a dependency not received). */
  waiting?: string;
}

export interface MappedView {
  status: 'mapped' | 'not-mapped';
  mapping?: string;
  resources?: { resourceType: string; key: string; write: string; profile?: string; valid: boolean; issues: OperationOutcomeIssue[]; resource: Resource }[];
  reason?: string;
}

export interface SentView {
  target: string;
  resourceType: string;
  id: string;
  versionId: string;
  identifier: string;
  mapping: string;
  syncedAt: string;
  /** The resource as the target holds it now, and the version before it, when the target keeps history. */
  current?: Resource;
  previous?: { versionId: string; resource: Resource };
  /** previous -> current, without meta. */
  diff?: Difference[];
  /** Why the target could not be read. */
  unreadable?: string;
}

export interface AttemptView {
  at: string;
  target?: string;
  outcome: 'success' | 'failure';
  /** transaction, batch, create or update. */
  interaction?: string;
  resources: string[];
  /** The target's answer to a failed attempt (its OperationOutcome's id and first text). */
  failure?: string;
  purposeOfUse?: string;
  consentIds: string[];
  auditEventId: string;
}

export interface RecordDetail {
  kind: RecordKind;
  id: string;
  version: number;
  receivedAt: string;
  updatedAt: string;
  clientMrn: string | null;
  record: StoredRecord['body'];
  sync: SyncView[];
  consent: ConsentView[];
  mapped: MappedView;
  sent: SentView[];
  attempts: AttemptView[];
  /** The records this one depends on (for masking their values too). */
  related: StoredRecord[];
}

/** Builds the detail of a stored record. */
export async function buildRecordDetail(deps: RecordDetailDeps, rec: StoredRecord, now = new Date()): Promise<RecordDetail> {
  const sync = await syncView(deps.store, rec.kind, rec.id);
  const blocked = sync.find((s) => s.state === 'blocked');
  const targets = [...new Set(sync.map((s) => s.target).filter((t) => t !== 'local'))];
  let gathered: RecordToMap[] | undefined;
  let waiting: string | undefined;
  try {
    gathered = await gatherRecords(deps.store, rec, deps.mappingConfig);
  } catch (err) {
    waiting = err instanceof HoldError ? err.message : `${toOutcome(err).id}: ${toOutcome(err).issue?.[0]?.details?.text ?? ''}`;
  }
  const consent: ConsentView[] = [];
  // A record policy keeps local is never mapped or sent, so it is not mapped here either.
  let mapped: MappedView = { status: 'not-mapped', reason: blocked ? `blocked by policy: ${blocked.reason ?? ''}` : (waiting ?? 'no target to map for') };
  for (const target of blocked ? [] : targets) {
    if (!gathered) {
      consent.push({ target, reasons: [], waiting });
      continue;
    }
    const decision = await deps.gate.decide({ main: rec, records: gathered, target, now });
    consent.push({ target, effect: decision.effect, reasons: decision.reasons, consentIds: decision.consentIds ?? [], purposeOfUse: decision.purposeOfUse });
    if (mapped.status === 'not-mapped') {
      mapped = mapOne(deps, rec, withDisclosure(gathered, decision));
    }
  }
  const [sent, audit] = await Promise.all([readSent(deps, rec, targets), deps.store.audit.listAudit({ kind: rec.kind, recordId: rec.id })]);
  return {
    kind: rec.kind,
    id: rec.id,
    version: rec.version,
    receivedAt: rec.receivedAt,
    updatedAt: rec.updatedAt,
    clientMrn: rec.clientMrn,
    record: rec.body,
    sync,
    consent,
    mapped,
    sent,
    attempts: audit.map(toAttempt).reverse(),
    related: (gathered ?? []).map((g) => g.record).filter((r) => !(r.kind === rec.kind && r.id === rec.id)),
  };
}

function mapOne(deps: RecordDetailDeps, rec: StoredRecord, items: RecordToMap[]): MappedView {
  const main = items[items.length - 1];
  try {
    const result = mapRecord(deps.mappings, rec.kind, main.record.body, main.context);
    return {
      status: 'mapped',
      mapping: `${result.mappingId}@${result.mappingVersion}`,
      resources: result.resources.map((m) => {
        const issues = validateDeclared(m.resource, deps.pack);
        return {
          resourceType: m.resource.resourceType,
          key: `${m.key.system}|${m.key.value}`,
          write: m.write,
          profile: m.resource.meta?.profile?.[0],
          valid: !issues.some((i) => i.severity === 'error' || i.severity === 'fatal'),
          issues,
          resource: m.resource,
        };
      }),
    };
  } catch (err) {
    const o = toOutcome(err);
    return { status: 'not-mapped', reason: `${o.id}: ${(o.issue ?? []).map((i) => i.details?.text).join('; ')}` };
  }
}

async function readSent(deps: RecordDetailDeps, rec: StoredRecord, targets: string[]): Promise<SentView[]> {
  const entries: LedgerEntry[] = (await Promise.all(targets.map((t) => deps.store.ledger.getLedgerForRecord(t, rec.kind, rec.id)))).flat();
  return Promise.all(entries.map((l) => readOne(deps.target(l.target), l)));
}

async function readOne(target: FhirTarget | undefined, l: LedgerEntry): Promise<SentView> {
  const view: SentView = {
    target: l.target,
    resourceType: l.resourceType,
    id: l.resourceId,
    versionId: l.versionId,
    identifier: l.identifier,
    mapping: l.mapping,
    syncedAt: l.syncedAt,
  };
  if (!target) {
    return { ...view, unreadable: 'this target is not reachable from here' };
  }
  try {
    if (target.history) {
      const versions = historyVersions(await target.history(l.resourceType, l.resourceId));
      if (versions.length > 0) {
        const [current, previous] = versions;
        return {
          ...view,
          current,
          ...(previous ? { previous: { versionId: previous.meta?.versionId ?? '', resource: previous }, diff: diffJson(withoutMeta(previous), withoutMeta(current)) } : {}),
        };
      }
    }
    return { ...view, current: await target.read(l.resourceType, l.resourceId) };
  } catch (err) {
    const o = toOutcome(err);
    return { ...view, unreadable: o.issue?.[0]?.details?.text ?? 'the target could not be read' };
  }
}

/** The versions in a history Bundle, newest first (deletions skipped). */
function historyVersions(bundle: Bundle): Resource[] {
  const versions = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r);
  return versions.sort((a, b) => (b.meta?.lastUpdated ?? '').localeCompare(a.meta?.lastUpdated ?? ''));
}

function withoutMeta(r: Resource): Omit<Resource, 'meta'> {
  const { meta: _meta, ...rest } = r as Resource & { meta?: unknown };
  return rest;
}

function toAttempt(a: AuditEntry): AttemptView {
  const e = a.event;
  const resources = (e.entity ?? []).filter((x) => x.role?.code === '4').map((x) => x.what?.reference ?? x.what?.display ?? '');
  const consentIds = (e.entity ?? []).filter((x) => x.role?.code === '13').map((x) => x.what?.identifier?.value ?? '');
  return {
    at: a.recorded,
    ...(a.target ? { target: a.target } : {}),
    outcome: a.outcome,
    interaction: e.subtype?.[0]?.code,
    resources,
    ...(e.outcomeDesc ? { failure: e.outcomeDesc } : {}),
    purposeOfUse: e.purposeOfEvent?.[0]?.coding?.[0]?.code,
    consentIds,
    auditEventId: a.id,
  };
}
