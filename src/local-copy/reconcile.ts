/**
 * The guarantee behind the copy: before a delivered record settles, every resource the sync's ledger
 * says that record put on the target (and every one its attempt confirmed, Provenances included) is in
 * the copy at that version. The recording target (recording-target.ts) keeps most of them from the
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
import type { LocalCopy } from './store.js';

/** A record the worker delivered, with the ledger entries its attempt confirmed. */
export interface Delivered {
  kind: RecordKind;
  recordId: string;
  ledger: LedgerEntry[];
}

/**
 * Makes sure the copy holds what these records put on the target.
 * @throws when a resource missing from the copy cannot be read back (the records are then retried).
 */
export async function ensureCopied(copy: LocalCopy, target: FhirTarget, store: Pick<Store, 'ledger'>, ns: string, delivered: Delivered[], logger?: Logger): Promise<void> {
  const wanted = new Map<string, { resourceType: string; resourceId: string; versionId: string }>();
  const add = (l: LedgerEntry): void => {
    wanted.set(`${l.resourceType}/${l.resourceId}`, { resourceType: l.resourceType, resourceId: l.resourceId, versionId: l.versionId });
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
  const fetched: WithId<Resource>[] = [];
  for (const w of wanted.values()) {
    const held = await copy.repo.readResource(w.resourceType, w.resourceId).catch(() => undefined);
    if (held && (held.meta?.versionId === w.versionId || !w.versionId)) {
      continue;
    }
    const found = await readBack(target, w.resourceType, w.resourceId, w.versionId);
    if (found) {
      logger?.info('local copy: read back from the target', { resourceType: w.resourceType, id: w.resourceId, versionId: w.versionId });
      fetched.push(found);
    } else {
      // Gone from the target since (deleted there): there is nothing to copy; the next write finds out.
      logger?.warn('local copy: a resource the ledger names is gone from the target', { resourceType: w.resourceType, id: w.resourceId });
    }
  }
  await copy.keep(fetched);
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
