/**
 * Helpers for the versions the SQLite repository stores: validation before a write, the "nothing
 * changed" test that keeps identical updates from creating versions, and history Bundle entries.
 */
import type { WithId } from '@medplum/core';
import {
  OperationOutcomeError,
  badRequest,
  deepEquals,
  isResourceType,
  normalizeErrorString,
  validateResource,
} from '@medplum/core';
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import type { HistoryRow } from './statements.js';

/** Throws an OperationOutcomeError listing every issue when the resource is not valid FHIR R4. */
export function validate(resource: Resource): void {
  if (!isResourceType(resource.resourceType)) {
    const type = String(resource.resourceType);
    throw new OperationOutcomeError(badRequest(`Unknown resource type: ${type}`, 'resourceType'));
  }
  try {
    validateResource(resource);
  } catch (err) {
    // The validator throws OperationOutcomeError listing every issue; anything else is still the input's fault.
    if (err instanceof OperationOutcomeError) {
      throw err;
    }
    throw new OperationOutcomeError(badRequest(normalizeErrorString(err)), err);
  }
}

/**
 * True when two versions differ only in server-managed meta (versionId, lastUpdated) or empty values.
 * Those are stripped first: deepEquals alone would see a stored `meta` against an absent one as a change.
 */
export function sameContent(a: Resource, b: Resource): boolean {
  const strip = (r: Resource): Resource => {
    const { versionId: _v, lastUpdated: _l, ...meta } = r.meta ?? {};
    return { ...r, meta } as Resource;
  };
  return deepEquals(strip(a), strip(b));
}

/** A history Bundle entry for one stored version (a deletion has request/response but no resource). */
export function historyEntry<T extends Resource>(
  resourceType: string,
  id: string,
  row: HistoryRow
): BundleEntry<WithId<T>> {
  const etag = `W/"${row.version_id}"`;
  if (row.deleted || row.content === null) {
    return {
      request: { method: 'DELETE', url: `${resourceType}/${id}` },
      response: { status: '204 No Content', etag, lastModified: row.last_updated },
    };
  }
  const first = row.version_id === 1;
  return {
    resource: JSON.parse(row.content) as WithId<T>,
    request: first ? { method: 'POST', url: resourceType } : { method: 'PUT', url: `${resourceType}/${id}` },
    response: { status: first ? '201 Created' : '200 OK', etag, lastModified: row.last_updated },
  };
}
