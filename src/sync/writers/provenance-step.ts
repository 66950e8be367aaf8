/**
 * Writes the Provenance of one written resource version, at most once: the ledger remembers it by its
 * write tag; otherwise a conditional create on _tag, or a search (by _tag, or by target and compared on
 * the tag) before the create. Where the target cannot create Provenance nothing is written (the local
 * AuditEvent is kept regardless).
 */
import type { Provenance } from '@medplum/fhirtypes';
import type { TargetCapabilities } from '../../fhir/capabilities.js';
import { validateOutbound } from '../../profiles/validate.js';
import type { LedgerEntry, Store } from '../../store/port.js';
import { buildProvenance, type ProvenanceContext, type ProvenanceSettings, writeKey, writeTagSystem } from '../provenance.js';
import type { Executor } from './exec.js';
import { matchesOf, requireIdAndVersion } from './ledger.js';

export interface ProvenanceStepDeps {
  targetName: string;
  caps: TargetCapabilities;
  store: Pick<Store, 'ledger'>;
  exec: Executor;
  settings: ProvenanceSettings;
}

/** Whether this target takes our Provenances at all. */
export function acceptsProvenance(caps: TargetCapabilities): boolean {
  return caps.can('Provenance', 'create');
}

/**
 * Ensures the Provenance of `written` exists on the target and in the ledger.
 * @returns its ledger entry when one was written or found now; undefined when already known or not possible.
 */
export async function ensureProvenance(
  written: LedgerEntry,
  created: boolean,
  context: ProvenanceContext,
  d: ProvenanceStepDeps
): Promise<LedgerEntry | undefined> {
  if (!acceptsProvenance(d.caps)) {
    return undefined;
  }
  const key = writeKey(d.targetName, written);
  const tagSystem = writeTagSystem(d.settings.ns);
  const identifier = `${tagSystem}|${key}`;
  if (await d.store.ledger.getLedgerByIdentifier(d.targetName, 'Provenance', identifier)) {
    return undefined;
  }
  const entryFor = (id: string, versionId: string): LedgerEntry => ({
    target: d.targetName,
    kind: context.kind,
    recordId: context.recordId,
    resourceType: 'Provenance',
    identifier,
    resourceId: id,
    versionId,
    recordVersion: context.recordVersion,
    mapping: 'provenance',
    contentHash: key,
    syncedAt: new Date().toISOString(),
  });
  const target = `${written.resourceType}/${written.resourceId}${written.versionId ? `/_history/${written.versionId}` : ''}`;
  const provenance = buildProvenance(d.settings, context, target, key, created);
  validateOutbound(provenance);

  let entry: LedgerEntry | undefined;
  const byTag = d.caps.canSearch('Provenance', '_tag');
  if (byTag && d.caps.type('Provenance')?.conditionalCreate) {
    const r = await d.exec.create(provenance, { ifNoneExist: `_tag=${identifier}` });
    const iv = requireIdAndVersion(r, 'the create of a Provenance');
    entry = entryFor(iv.id, iv.versionId);
  } else {
    const found = await findProvenance(key, tagSystem, written, byTag, d);
    if (found === 'unknown') {
      // An earlier create may have gone through and nothing can tell: better no second Provenance.
      return undefined;
    }
    if (found) {
      entry = entryFor(found.id as string, found.meta?.versionId ?? '');
    } else {
      if (!byTag && !d.caps.canSearch('Provenance', 'target')) {
        await d.store.ledger.putWriteIntent({ target: d.targetName, resourceType: 'Provenance', identifier, kind: context.kind, recordId: context.recordId, createdAt: new Date().toISOString() });
      }
      const r = await d.exec.create(provenance);
      const iv = requireIdAndVersion(r, 'the create of a Provenance');
      entry = entryFor(iv.id, iv.versionId);
    }
  }
  await d.store.ledger.recordLedger([entry]);
  return entry;
}

async function findProvenance(
  key: string,
  tagSystem: string,
  written: LedgerEntry,
  byTag: boolean,
  d: ProvenanceStepDeps
): Promise<Provenance | undefined | 'unknown'> {
  const tagged = (p: Provenance): boolean => (p.meta?.tag ?? []).some((t) => t.system === tagSystem && t.code === key);
  if (byTag) {
    const bundle = await d.exec.search('Provenance', { _tag: `${tagSystem}|${key}`, _count: '2' });
    return (matchesOf(bundle, 'Provenance') as Provenance[]).find(tagged);
  }
  if (d.caps.canSearch('Provenance', 'target')) {
    // Our target reference is version-specific; servers differ on whether Type/id matches it, so ask both ways.
    const unversioned = `${written.resourceType}/${written.resourceId}`;
    for (const target of written.versionId ? [`${unversioned}/_history/${written.versionId}`, unversioned] : [unversioned]) {
      const bundle = await d.exec.search('Provenance', { target, _count: '1000' });
      const hit = (matchesOf(bundle, 'Provenance') as Provenance[]).find(tagged);
      if (hit) {
        return hit;
      }
    }
    return undefined;
  }
  const intent = await d.store.ledger.getWriteIntent(d.targetName, 'Provenance', `${tagSystem}|${key}`);
  return intent ? 'unknown' : undefined;
}
