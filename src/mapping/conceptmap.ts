/**
 * Code translation through FHIR R4 ConceptMaps (mappings/conceptmaps/*.json), a small in-process
 * version of the $translate operation: every target of every group that lists the source code.
 * See: https://hl7.org/fhir/R4/conceptmap-operation-translate.html
 */
import type { Coding, ConceptMap } from '@medplum/fhirtypes';

/**
 * The placeholder namespace the ConceptMaps and CodeSystems are authored in (docs/fhir-mapping.md uses it
 * too: IDENTIFIER_NAMESPACE). A target system under it is rewritten to the deployment's namespace (%ns) when translating,
 * so the practice code systems (collateral-role, collateral-purpose) follow the configured namespace.
 */
export const PRACTICE_NAMESPACE = 'https://fhir.example-practice.org';

/** Equivalences that say "there is no target": the source code must not be translated. */
const NO_MATCH = new Set(['unmatched', 'disjoint']);

/** A successful translation: the codings (in group order) and the source code's display. */
export interface Translation {
  codings: Coding[];
  text?: string;
}

/** The result of translating one code: the translation or why there is none. */
export type TranslateResult = { ok: true; value: Translation } | { ok: false; reason: string };

/** Rewrites a system under the placeholder namespace to the deployment namespace. */
export function withNamespace(system: string, ns: string): string {
  return system.startsWith(`${PRACTICE_NAMESPACE}/`) ? ns + system.slice(PRACTICE_NAMESPACE.length) : system;
}

/** ConceptMaps by id, with translation. */
export class ConceptMapIndex {
  private readonly byId: ReadonlyMap<string, ConceptMap>;

  /** @param maps - ConceptMaps, each with a unique `id`. */
  constructor(maps: readonly ConceptMap[]) {
    this.byId = new Map(maps.map((m) => [m.id as string, m]));
  }

  /** The ConceptMap with this id, if loaded. */
  get(id: string): ConceptMap | undefined {
    return this.byId.get(id);
  }

  /** The ids of all loaded ConceptMaps. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** The target systems of a map's groups, as written in the file. */
  targets(id: string): string[] {
    return (this.byId.get(id)?.group ?? []).map((g) => g.target ?? '').filter(Boolean);
  }

  /**
   * Translates one source code.
   * @param id - ConceptMap id.
   * @param code - The source code.
   * @param options - `target`: only groups with this target system; `ns`: the deployment namespace.
   * @returns The codings, or why the code cannot be translated (unknown, or explicitly unmatched).
   */
  translate(id: string, code: string, options: { target?: string; ns: string }): TranslateResult {
    const map = this.byId.get(id);
    if (!map) {
      return { ok: false, reason: `no ConceptMap '${id}'` };
    }
    const groups = map.group ?? [];
    const known = groups.some((g) => g.element?.some((e) => e.code === code));
    if (!known && !groups.some((g) => g.unmapped?.mode === 'fixed')) {
      return { ok: false, reason: `'${code}' is not a code ConceptMap '${id}' knows` };
    }
    const codings: Coding[] = [];
    let text: string | undefined;
    for (const group of groups) {
      if (options.target && group.target !== options.target) {
        continue;
      }
      const system = withNamespace(group.target ?? '', options.ns);
      const element = group.element?.find((e) => e.code === code);
      if (!element) {
        // Only a group's own fallback applies: a code listed in another group is simply absent here.
        if (!known && group.unmapped?.mode === 'fixed' && group.unmapped.code) {
          codings.push(coding(system, group.unmapped.code, group.unmapped.display));
        }
        continue;
      }
      text ??= element.display;
      for (const target of element.target ?? []) {
        if (NO_MATCH.has(target.equivalence ?? '')) {
          return { ok: false, reason: `'${code}' has no translation in ConceptMap '${id}': ${target.comment ?? target.equivalence}` };
        }
        if (target.code) {
          codings.push(coding(system, target.code, target.display));
        }
      }
    }
    return { ok: true, value: { codings, ...(text ? { text } : {}) } };
  }
}

function coding(system: string, code: string, display?: string): Coding {
  return { system, code, ...(display ? { display } : {}) };
}
