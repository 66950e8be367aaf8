/** Looks resources up by id the cheapest way the target allows: `_id=` lists, else one read each. */
import type { Resource } from '@medplum/fhirtypes';
import type { TargetCapabilities } from '../fhir/capabilities.js';
import type { FhirTarget } from '../fhir/port.js';
import { UpstreamError } from '../fhir/upstream-error.js';
import { mapLimit, resourcesByIds, type BatchedSearch } from './verify-target-search.js';

/**
 * The resources of `type` with these ids that exist on the target (absent ones are not in the map), or
 * undefined when the target can neither search the type by `_id` nor read it.
 */
export async function lookupByIds(
  caps: TargetCapabilities,
  search: BatchedSearch,
  target: Pick<FhirTarget, 'read'>,
  type: string,
  ids: readonly string[]
): Promise<Map<string, Resource> | undefined> {
  if (ids.length === 0) {
    return new Map();
  }
  if (caps.canSearch(type, '_id')) {
    return resourcesByIds(search, type, ids);
  }
  if (!caps.can(type, 'read')) {
    return undefined;
  }
  const found = new Map<string, Resource>();
  await mapLimit([...new Set(ids)], search.concurrency, async (id) => {
    try {
      found.set(id, await target.read(type, id));
    } catch (err) {
      // 404 not found, 410 deleted: absent. Anything else is an error of the check.
      if (!(err instanceof UpstreamError && (err.status === 404 || err.status === 410))) {
        throw err;
      }
    }
  });
  return found;
}
