/**
 * Where a target cannot search a type by identifier (Oracle-like DocumentReference), the twins of our
 * resources are looked for among the same patients' resources of that type: `Type?patient=a,b,…`, in
 * chunks and pages, the same way as the identifier search. A twin filed under another patient is not seen.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { TargetCapabilities } from '../fhir/capabilities.js';
import { chunks, mapLimit, searchAll, type BatchedSearch } from './verify-target-search.js';

/** The patient reference of one of our resources (`subject` or `patient`), as `Patient/id`. */
function patientOf(r: Resource): string | undefined {
  const ref = (r as { subject?: { reference?: string }; patient?: { reference?: string } }).subject?.reference ?? (r as { patient?: { reference?: string } }).patient?.reference;
  const m = /(?:^|\/)(Patient\/[A-Za-z0-9\-.]{1,64})$/.exec(ref ?? '');
  return m?.[1];
}

/**
 * Every resource of `type` filed under the patients of `ours`, or undefined when the target cannot
 * search the type by patient either.
 */
export async function resourcesOfSamePatients(caps: TargetCapabilities, s: BatchedSearch, type: string, ours: Iterable<Resource>): Promise<Resource[] | undefined> {
  if (!caps.canSearch(type, 'patient')) {
    return undefined;
  }
  const patients = [...new Set([...ours].map(patientOf).filter((p): p is string => p !== undefined))];
  const parts = await mapLimit(chunks(patients, s.chunkSize), s.concurrency, (c) =>
    searchAll(s.target, type, { patient: c.join(','), _count: String(s.chunkSize) })
  );
  return [...new Map(parts.flat().map((r) => [r.id as string, r])).values()];
}
