/**
 * The exactly-once check of a delivery run, shared by the profile suites and the invariant test. It
 * reads the target on its unrestricted admin side (so it can count by identifier where the profile
 * cannot search) and our store, and lists every way the two disagree with the promise:
 * - every permitted record is on the target exactly once (by identifier), or explicitly not-writable
 *   there (and then absent);
 * - nothing forbidden (psychotherapy notes, participants no consent names) is on the target;
 * - the ledger matches the server: each entry's resource exists with that id and version, and the
 *   server holds no resource with our identifiers that the ledger does not know (no strays, no twins);
 * - one Provenance per ledger entry where the target takes Provenance, none elsewhere;
 * - no record failed or parked.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { RecordKind } from '../../src/domain/records.js';
import type { LedgerEntry, Store } from '../../src/store/port.js';
import type { FhirTarget } from '../helpers/fhir-target.js';
import { type Dataset, identifierOf } from './dataset.js';
import { NS } from './helpers.js';

export interface DeliveryExpectation {
  /** Record kinds whose resource the target cannot write (epic-like: participant, consent, session). */
  notWritable: RecordKind[];
  /** The target takes Provenance. */
  provenance: boolean;
}

export interface DeliveryReport {
  problems: string[];
  figures: { synced: number; notWritable: number; resourcesOnTarget: number; provenances: number; ledgerEntries: number };
}

const OUR_SYSTEMS = ['collateral-contact', 'roi', 'session', 'note'].map((s) => `${NS}/sid/${s}`);
const TYPES = ['RelatedPerson', 'Consent', 'Encounter', 'DocumentReference'];

export async function verifyDelivery(target: FhirTarget, store: Store, targetName: string, data: Dataset, expect: DeliveryExpectation): Promise<DeliveryReport> {
  const problems: string[] = [];
  const ledger = await store.ledger.listLedger(targetName);
  const byKey = new Map(ledger.map((l) => [`${l.resourceType}|${l.identifier}`, l]));
  const onServer = new Map<string, Resource[]>();
  for (const type of TYPES) {
    const all = await target.search(type);
    for (const r of all) {
      for (const id of (r as { identifier?: { system?: string; value?: string }[] }).identifier ?? []) {
        if (id.system && OUR_SYSTEMS.includes(id.system)) {
          const key = `${type}|${id.system}|${id.value}`;
          onServer.set(key, [...(onServer.get(key) ?? []), r]);
        }
      }
    }
  }
  let synced = 0;
  let notWritable = 0;
  for (const r of data.permitted) {
    const { type, system, value } = identifierOf(r);
    const key = `${type}|${system}|${value}`;
    const found = onServer.get(key) ?? [];
    const state = (await store.status.getSyncStates(r.kind, r.record.id)).find((s) => s.target === targetName);
    if (expect.notWritable.includes(r.kind)) {
      notWritable++;
      if (state?.state !== 'not-writable') {
        problems.push(`${r.kind}/${r.record.id}: state ${state?.state ?? 'none'} (${state?.reason ?? ''}), expected not-writable`);
      }
      if (found.length !== 0) {
        problems.push(`${r.kind}/${r.record.id}: ${found.length} on a target that cannot write ${type}`);
      }
      continue;
    }
    synced++;
    if (state?.state !== 'synced') {
      problems.push(`${r.kind}/${r.record.id}: state ${state?.state ?? 'none'} (${state?.reason ?? ''}), expected synced`);
    }
    if (found.length !== 1) {
      problems.push(`${r.kind}/${r.record.id}: ${found.length} ${type} on the target with its identifier, expected exactly 1`);
    }
  }
  for (const r of data.forbidden) {
    const { type, system, value } = identifierOf(r);
    const found = onServer.get(`${type}|${system}|${value}`) ?? [];
    if (found.length > 0) {
      problems.push(`${r.kind}/${r.record.id}: must never reach the target, found ${found.length}`);
    }
    const states = await store.status.getSyncStates(r.kind, r.record.id);
    if (states.some((s) => s.state === 'synced')) {
      problems.push(`${r.kind}/${r.record.id}: must never be synced, state ${JSON.stringify(states)}`);
    }
  }
  // The ledger matches the server, both ways.
  for (const [key, resources] of onServer) {
    const l = byKey.get(key);
    if (!l) {
      problems.push(`${key}: on the target but not in the ledger`);
    } else if (resources.length === 1 && (resources[0].id !== l.resourceId || resources[0].meta?.versionId !== l.versionId)) {
      problems.push(`${key}: ledger says ${l.resourceId}/_history/${l.versionId}, target has ${resources[0].id}/_history/${resources[0].meta?.versionId}`);
    }
  }
  const resourceEntries = ledger.filter((l) => l.resourceType !== 'Provenance');
  for (const l of resourceEntries) {
    if (!onServer.has(`${l.resourceType}|${l.identifier}`)) {
      problems.push(`${l.resourceType}|${l.identifier}: in the ledger but not on the target`);
    }
  }
  const provenanceEntries = ledger.filter((l) => l.resourceType === 'Provenance');
  const provenances = await target.search('Provenance');
  if (expect.provenance) {
    problems.push(...(await checkProvenance(provenances, provenanceEntries, resourceEntries)));
  } else if (provenances.length > 0 || provenanceEntries.length > 0) {
    problems.push(`${provenances.length} Provenances on a target that does not take them (${provenanceEntries.length} in the ledger)`);
  }
  for (const s of ['failed', 'dead-letter'] as const) {
    const bad = await store.status.listSyncStates({ target: targetName, state: s });
    for (const b of bad) {
      problems.push(`${b.kind}/${b.recordId}: ${s} (${b.reason ?? ''})`);
    }
  }
  // The process-note canary must appear nowhere on the target.
  for (const d of await target.search('DocumentReference')) {
    const text = JSON.stringify(d);
    const data = ((d as { content?: { attachment?: { data?: string } }[] }).content ?? []).map((c) => Buffer.from(c.attachment?.data ?? '', 'base64').toString('utf8'));
    if (text.includes('PROCESS-NOTE-CANARY') || data.some((t) => t.includes('PROCESS-NOTE-CANARY'))) {
      problems.push(`DocumentReference/${d.id}: carries a psychotherapy note`);
    }
  }
  return {
    problems,
    figures: {
      synced,
      notWritable,
      resourcesOnTarget: [...onServer.values()].reduce((n, v) => n + v.length, 0),
      provenances: provenances.length,
      ledgerEntries: ledger.length,
    },
  };
}

/** Every Provenance is in the ledger, exactly once per tag; every written resource version has at most one. */
async function checkProvenance(onServer: Resource[], entries: LedgerEntry[], resources: LedgerEntry[]): Promise<string[]> {
  const problems: string[] = [];
  const byTag = new Map<string, Resource[]>();
  for (const p of onServer) {
    for (const t of p.meta?.tag ?? []) {
      if (t.system === `${NS}/sid/sync-write`) {
        const key = `${t.system}|${t.code}`;
        byTag.set(key, [...(byTag.get(key) ?? []), p]);
      }
    }
  }
  for (const [tag, list] of byTag) {
    if (list.length !== 1) {
      problems.push(`Provenance ${tag}: ${list.length} on the target, expected 1`);
    }
  }
  for (const e of entries) {
    const list = byTag.get(e.identifier) ?? [];
    if (list.length !== 1 || list[0].id !== e.resourceId) {
      problems.push(`Provenance ${e.identifier}: ledger says ${e.resourceId}, target has ${list.map((p) => p.id).join(', ') || 'none'}`);
    }
  }
  if (onServer.length !== entries.length) {
    problems.push(`${onServer.length} Provenances on the target, ${entries.length} in the ledger`);
  }
  // Each resource on the target has a Provenance of its current version.
  const targets = new Set(onServer.flatMap((p) => ((p as { target?: { reference?: string }[] }).target ?? []).map((t) => t.reference)));
  for (const r of resources) {
    const current = `${r.resourceType}/${r.resourceId}/_history/${r.versionId}`;
    if (!targets.has(current) && !targets.has(`${r.resourceType}/${r.resourceId}`)) {
      problems.push(`${current}: no Provenance`);
    }
  }
  return problems;
}
