/**
 * What a target confirmed holding after one of our writes, read from its answer: the resource as the
 * target stored it (its id, meta.versionId, meta.lastUpdated). Only successful writes count. A
 * conditional create answered 200 (the target already held a resource with our identifier: our own
 * from an attempt whose answer was lost, or a Practitioner the EHR registered) counts too, as the sync's
 * ledger does: the record's resources point at it. Reads and searches are never passed here.
 *
 * A target that answers a write without the resource body (`Prefer: return=minimal`, some EHRs) still
 * says where it went (Location, ETag): the copy is then what we sent with the target's id and version,
 * or, for a JSON Patch (whose result we cannot know), a version the caller reads back (`fetch`).
 */
import type { WithId } from '@medplum/core';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { WriteResult } from '../fhir/port.js';
import { entryStatus } from '../sync/writers/entry-outcome.js';
import { idAndVersion } from '../sync/writers/ledger.js';

/** One confirmed write: the resource to keep, or the version to read back first. */
export type Confirmed = { resource: WithId<Resource> } | { fetch: { resourceType: string; id: string; versionId: string } };

/**
 * The kind of a single (non-Bundle) write. After a patch, or a conditional create the target answered
 * 200 (it held one already), what we sent is not what it holds.
 */
export type WriteKind = 'create' | 'conditional-create' | 'update' | 'patch';

/**
 * What one write's answer confirms.
 * @param kind - The write (a patch's result is not what we sent).
 * @param sent - What we sent (undefined for a patch).
 * @param answer - The target's answer.
 * @param resourceType - The type written.
 * @returns The confirmed resource, what to read back, or undefined when the answer says nothing usable.
 */
export function confirmedWrite(kind: WriteKind, sent: Resource | undefined, answer: WriteResult, resourceType: string, now = new Date()): Confirmed | undefined {
  return confirmedOf(answer.resource, { location: answer.location, etag: answer.etag }, sent, resourceType, now, kind === 'patch' || (kind === 'conditional-create' && answer.status !== 201));
}

/**
 * What a transaction or batch answer confirms, entry by entry (the answer's entries are in the
 * request's order: FHIR R4 http.html#transaction-response).
 * @param request - The Bundle we sent.
 * @param response - The target's transaction-response or batch-response.
 * @returns One item per entry that wrote something of ours.
 */
export function confirmedEntries(request: Bundle, response: Bundle, now = new Date()): Confirmed[] {
  const out: Confirmed[] = [];
  const answers = response.entry ?? [];
  (request.entry ?? []).forEach((req, i) => {
    const method = req.request?.method;
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') {
      return;
    }
    const answer: BundleEntry | undefined = answers[i];
    const status = entryStatus(answer);
    if (status === undefined || status >= 300) {
      return;
    }
    const type = typeOfUrl(req.request?.url) ?? req.resource?.resourceType;
    if (!type) {
      return;
    }
    const when = answer?.response?.lastModified;
    const found = confirmedOf(answer?.resource, { location: answer?.response?.location, etag: answer?.response?.etag }, req.resource, type, when ? new Date(when) : now, method === 'PATCH' || (method === 'POST' && !!req.request?.ifNoneExist && status !== 201));
    if (found) {
      out.push(found);
    }
  });
  return out;
}

function confirmedOf(
  returned: Resource | undefined,
  headers: { location?: string; etag?: string },
  sent: Resource | undefined,
  resourceType: string,
  now: Date,
  notAsSent: boolean
): Confirmed | undefined {
  if (returned && returned.resourceType === resourceType && returned.id && returned.meta?.versionId) {
    return { resource: withLastUpdated(returned as WithId<Resource>, now) };
  }
  const iv = idAndVersion({ resource: returned, location: headers.location, etag: headers.etag });
  if (!iv) {
    return undefined; // a success that does not say where it went: the writer treats it as unknown and retries
  }
  // Answered without the body: what we sent is what it holds, unless notAsSent (read it back then).
  if (notAsSent || !sent || sent.resourceType !== resourceType) {
    return { fetch: { resourceType, id: iv.id, versionId: iv.versionId } };
  }
  return { resource: withLastUpdated({ ...sent, id: iv.id, meta: { ...sent.meta, versionId: iv.versionId } } as WithId<Resource>, now) };
}

/** Every copied resource carries meta.lastUpdated (the copy's `_since` and ordering need one). */
function withLastUpdated(r: WithId<Resource>, now: Date): WithId<Resource> {
  return r.meta?.lastUpdated ? r : { ...r, meta: { ...r.meta, lastUpdated: now.toISOString() } };
}

/** `Encounter?identifier=…`, `Encounter/123` → Encounter. */
function typeOfUrl(url: string | undefined): string | undefined {
  return /^([A-Z][A-Za-z]+)(?:[/?]|$)/.exec(url ?? '')?.[1];
}
