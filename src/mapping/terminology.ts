/**
 * Cross-file checks of the ConceptMaps: unique ids, every target coded, and every target in one of
 * our practice CodeSystems (mappings/codesystems) actually defined there.
 */
import type { CodeSystem, CodeSystemConcept, ConceptMap } from '@medplum/fhirtypes';
import type { Problem } from '../outcomes.js';

/** A resource and the file it came from. */
export interface Loaded<T> {
  file: string;
  resource: T;
}

const NO_TARGET = new Set(['unmatched', 'disjoint']);

/**
 * Checks the ConceptMaps against each other and against our CodeSystems.
 * @returns One entry per file with problems.
 */
export function checkTerminology(
  maps: Loaded<ConceptMap>[],
  codeSystems: Loaded<CodeSystem>[]
): { file: string; problems: Problem[] }[] {
  const codes = new Map(codeSystems.map((c) => [c.resource.url ?? '', new Set(allCodes(c.resource.concept))]));
  const seenIds = new Map<string, string>();
  const out: { file: string; problems: Problem[] }[] = [];
  for (const { file, resource } of maps) {
    const problems: Problem[] = [];
    const id = resource.id ?? '';
    if (!id) {
      problems.push({ path: '/id', message: 'a ConceptMap needs an id (mappings name it in $map)' });
    } else if (seenIds.has(id)) {
      problems.push({ path: '/id', message: `id '${id}' is also used by ${seenIds.get(id)}` });
    }
    seenIds.set(id, file);
    (resource.group ?? []).forEach((group, g) => {
      if (!group.target) {
        problems.push({ path: `/group/${g}/target`, message: 'each group needs a target system' });
      }
      const known = codes.get(group.target ?? '');
      (group.element ?? []).forEach((element, e) =>
        (element.target ?? []).forEach((target, t) => {
          const at = `/group/${g}/element/${e}/target/${t}`;
          if (NO_TARGET.has(target.equivalence ?? '')) {
            return;
          }
          if (!target.code) {
            problems.push({ path: `${at}/code`, message: 'a matching target needs a code' });
          } else if (known && !known.has(target.code)) {
            problems.push({ path: `${at}/code`, message: `'${target.code}' is not defined in ${group.target}` });
          }
        })
      );
    });
    if (problems.length > 0) {
      out.push({ file, problems });
    }
  }
  return out;
}

function allCodes(concepts: CodeSystemConcept[] | undefined): string[] {
  return (concepts ?? []).flatMap((c) => [c.code ?? '', ...allCodes(c.concept)]);
}
