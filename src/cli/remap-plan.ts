/**
 * What a mapping change would do to the records already stored: each stored record is mapped with
 * the given mappings, exactly as the sync maps it (same context, src/sync/context.ts), and each
 * resource's content hash is compared with the one the ledger recorded when the resource was written
 * (src/sync/plan.ts hashes the mapped resource before reference resolution). The disclosure gate is
 * asked first, as the worker does, because its decision (the consents relied on, the purpose of use)
 * is part of what the mappings produce. Nothing is written here.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { RecordKind } from '../domain/records.js';
import { mapRecord, type MappingConfig, type MappingSet } from '../mapping/index.js';
import { toOutcome } from '../outcomes.js';
import type { ProfilePack } from '../profiles/pack.js';
import { validateDeclared } from '../profiles/validate.js';
import { diffJson, type Difference } from '../profiles/workbench/diff.js';
import { contentHash } from '../store/hash.js';
import type { Store, StoredRecord } from '../store/port.js';
import { gatherRecords, withDisclosure } from '../sync/context.js';
import { type DisclosureGate, permitAll } from '../sync/gate.js';
import { HoldError } from '../sync/hold.js';

/** One resource whose current mapping output is not what the target holds. */
export interface RemapChange {
  kind: RecordKind;
  recordId: string;
  resourceType: string;
  /** `system|value` the resource is upserted by. */
  identifier: string;
  /** changed: the target holds other content; new: the target has never had this resource. */
  status: 'changed' | 'new';
  /** `mappingId@version` that wrote the resource (from the ledger), and that would write it now. */
  before?: string;
  after: string;
  /** Profile errors of the new content (the sync would stop the record). */
  issues: OperationOutcomeIssue[];
  /** With diff: baseline output -> new output. */
  diff?: Difference[];
  /** With diff, when the baseline mappings do not reproduce what the ledger recorded. */
  diffNote?: string;
}

export interface RemapReport {
  target: string;
  /** Mapping id@version per kind, as used now. */
  mappings: string[];
  records: number;
  resources: { unchanged: number; changed: number; new: number };
  changes: RemapChange[];
  /** Records that cannot be mapped now (a dependency missing, the gate holds them, the mapping refuses them). */
  notMapped: { kind: RecordKind; recordId: string; reason: string }[];
  /** Records blocked by policy (psychotherapy notes): never mapped, never queued. */
  skipped: { kind: RecordKind; recordId: string }[];
}

export interface RemapOptions {
  store: Store;
  target: string;
  config: MappingConfig;
  /** The mappings to try (a changed copy, or the deployed ones). */
  mappings: MappingSet;
  pack: ProfilePack;
  kind?: RecordKind;
  /** The disclosure gate the service uses (default: permit all, as a service without consent engine). */
  gate?: DisclosureGate;
  /** The moment the gate judges (default now). */
  now?: Date;
  /** For diffs: the mappings that produced what the target holds (default: none, no diff). */
  baseline?: MappingSet;
}

/**
 * Compares the current mapping output of every stored record with the ledger.
 * @returns The report; `changes` lists exactly the resources that differ from what the target has.
 */
export async function planRemap(o: RemapOptions): Promise<RemapReport> {
  const report: RemapReport = {
    target: o.target,
    mappings: o.mappings.mappings.map((m) => `${m.id}@${m.version}`),
    records: 0,
    resources: { unchanged: 0, changed: 0, new: 0 },
    changes: [],
    notMapped: [],
    skipped: [],
  };
  for (const record of await o.store.records.listRecords(o.kind ? { kind: o.kind } : {})) {
    const states = await o.store.status.getSyncStates(record.kind, record.id);
    if (states.some((s) => s.state === 'blocked')) {
      report.skipped.push({ kind: record.kind, recordId: record.id }); // blocked by policy: its content is never processed
      continue;
    }
    report.records++;
    await remapRecord(record, o, report);
  }
  return report;
}

async function remapRecord(record: StoredRecord, o: RemapOptions, report: RemapReport): Promise<void> {
  let mapped: { resource: Resource; key: { system: string; value: string } }[];
  let mapping: string;
  let baseline: Map<string, Resource> | undefined;
  try {
    const gathered = await gatherRecords(o.store, record, o.config);
    const decision = await (o.gate ?? permitAll).decide({ main: record, records: gathered, target: o.target, now: o.now ?? new Date() });
    if (decision.effect !== 'permit') {
      report.notMapped.push({ kind: record.kind, recordId: record.id, reason: `${decision.effect} by the disclosure gate: ${decision.reasons.join('; ')}` });
      return;
    }
    const items = withDisclosure(gathered, decision);
    const main = items[items.length - 1];
    const result = mapRecord(o.mappings, record.kind, main.record.body, main.context);
    mapped = result.resources;
    mapping = `${result.mappingId}@${result.mappingVersion}`;
    if (o.baseline) {
      baseline = new Map(
        mapRecord(o.baseline, record.kind, main.record.body, main.context).resources.map((r) => [`${r.resource.resourceType} ${r.key.system}|${r.key.value}`, r.resource])
      );
    }
  } catch (err) {
    const reason = err instanceof HoldError ? err.message : `${toOutcome(err).id}: ${toOutcome(err).issue?.[0]?.details?.text ?? ''}`;
    report.notMapped.push({ kind: record.kind, recordId: record.id, reason });
    return;
  }
  const ledger = await o.store.ledger.getLedgerForRecord(o.target, record.kind, record.id);
  for (const m of mapped) {
    const identifier = `${m.key.system}|${m.key.value}`;
    const known = ledger.find((l) => l.resourceType === m.resource.resourceType && l.identifier === identifier);
    const hash = contentHash(m.resource);
    if (known?.contentHash === hash) {
      report.resources.unchanged++;
      continue;
    }
    const status = known ? 'changed' : 'new';
    report.resources[status]++;
    const change: RemapChange = {
      kind: record.kind,
      recordId: record.id,
      resourceType: m.resource.resourceType,
      identifier,
      status,
      ...(known ? { before: known.mapping } : {}),
      after: mapping,
      issues: validateDeclared(m.resource, o.pack).filter((i) => i.severity === 'error'),
    };
    const old = baseline?.get(`${m.resource.resourceType} ${identifier}`);
    if (baseline) {
      change.diff = diffJson(old ?? {}, m.resource);
      if (known && (!old || contentHash(old) !== known.contentHash)) {
        change.diffNote = `the baseline mappings do not reproduce what was written (${known.mapping}): the diff is against the baseline output`;
      }
    }
    report.changes.push(change);
  }
}
