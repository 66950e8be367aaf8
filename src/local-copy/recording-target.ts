/**
 * The hook between the sync and the copy: a FhirTarget that writes through to the real one and, once the
 * target has confirmed a write, keeps what it confirmed in the copy before handing the answer back.
 *
 * Why here and not on the worker's delivery results: those carry ledger entries (type, id, version), not
 * the resources the target answered with, and a record whose attempt fails later (a Provenance refused
 * after its resources were committed) may already have disclosed resources. Every write the sync makes
 * (transaction, batch, create, update, patch, Provenances included) goes through its FhirTarget, so the
 * copy sees exactly what each target accepted, and nothing else: the consent gate runs before any write,
 * records kept local are never sent, and reads and searches are never copied.
 *
 * Ordering: the copy is written (and committed, SQLite synchronous=FULL) before the writer learns the
 * answer, so before the ledger and the outbox settlement. A crash in between leaves the record pending;
 * its retry rewrites the same resource, which the copy upserts.
 *
 * This is the fast path, not the guarantee: it never fails a write the target accepted. What it could
 * not keep (a patch answered without a body on a target without vread, a disk error) is logged and left
 * to reconcile.ts, which the worker awaits before settling and which does fail the attempt when it
 * cannot complete the copy.
 */
import type { WithId } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { FhirTarget, WriteResult } from '../fhir/port.js';
import type { Logger } from '../logger.js';
import { type Confirmed, confirmedEntries, confirmedWrite } from './confirmed.js';
import type { CopySink } from './store.js';

/**
 * Wraps `target` so every confirmed write is kept in `copy` first.
 * @param target - The sync's target (kit-client.ts).
 * @param copy - The copy of that target (store.ts).
 * @param logger - Failures to keep (types and ids only).
 * @returns A FhirTarget with the same name, base URL and behaviour.
 */
export function recordingTarget(target: FhirTarget, copy: CopySink, logger?: Logger): FhirTarget {
  const keep = async (found: (Confirmed | undefined)[]): Promise<void> => {
    try {
      const resources: WithId<Resource>[] = [];
      for (const c of found) {
        if (!c) {
          continue;
        }
        if ('resource' in c) {
          resources.push(c.resource);
        } else {
          // A patch answered without a body: the version the target confirmed, read back.
          resources.push((await target.vread(c.fetch.resourceType, c.fetch.id, c.fetch.versionId)) as WithId<Resource>);
        }
      }
      await copy.keep(resources);
    } catch (err) {
      logger?.warn('local copy: a confirmed write was not kept at once; it is read back before the record settles', {
        target: target.name,
        resources: found.flatMap((c) => (c ? ['resource' in c ? `${c.resource.resourceType}/${c.resource.id}` : `${c.fetch.resourceType}/${c.fetch.id}`] : [])),
        error: err instanceof Error ? err.name : typeof err,
      });
    }
  };
  const single = async (answer: Promise<WriteResult>, kind: Parameters<typeof confirmedWrite>[0], sent: Resource | undefined, type: string): Promise<WriteResult> => {
    const r = await answer;
    await keep([confirmedWrite(kind, sent, r, type)]);
    return r;
  };
  const bundle = async (request: Bundle, answer: Promise<Bundle>): Promise<Bundle> => {
    const r = await answer;
    await keep(confirmedEntries(request, r));
    return r;
  };
  return {
    name: target.name,
    baseUrl: target.baseUrl,
    capabilities: () => target.capabilities(),
    search: (type, params) => target.search(type, params),
    read: (type, id) => target.read(type, id),
    vread: (type, id, vid) => target.vread(type, id, vid),
    ...(target.history ? { history: (type: string, id: string) => target.history!(type, id) } : {}),
    nextPage: (b) => target.nextPage(b),
    transaction: (b) => bundle(b, target.transaction(b)),
    batch: (b) => bundle(b, target.batch(b)),
    create: (resource, o) => single(target.create(resource, o), o?.ifNoneExist ? 'conditional-create' : 'create', resource, resource.resourceType),
    update: (resource, o) => single(target.update(resource, o), 'update', resource, resource.resourceType),
    conditionalUpdate: (resource, q) => single(target.conditionalUpdate(resource, q), 'update', resource, resource.resourceType),
    patch: (type, id, ops, o) => single(target.patch(type, id, ops, o), 'patch', undefined, type),
  };
}
