/**
 * Reads the code tables of docs/fhir-mapping.md and the ConceptMaps of mappings/conceptmaps/ as the same
 * kind of triples (inbound code, target system, target code), so the test can compare them both ways.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { codeSpans } from './markdown.js';

/** `source -> system|code`; an unmatched source has no triple, only a row. */
export interface Codes {
  triples: Set<string>;
  sources: Set<string>;
}

/** The inbound key of the `group.unmapped` fallback row ("(any other ...)" in the doc). */
export const ANY_OTHER = '(any other)';

interface ConceptMap {
  id: string;
  group?: {
    target?: string;
    unmapped?: { mode: string; code?: string };
    element: { code: string; target?: { code?: string; equivalence: string }[] }[];
  }[];
}

/** Every ConceptMap of mappings/conceptmaps/, by id. */
export function conceptMaps(): Map<string, ConceptMap> {
  const dir = join(projectRoot(), 'mappings', 'conceptmaps');
  const maps = new Map<string, ConceptMap>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const map = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ConceptMap;
    maps.set(map.id, map);
  }
  return maps;
}

const triple = (source: string, system: string, code: string): string => `${source} -> ${system}|${code}`;

/** The codes of some ConceptMaps together. */
export function mapCodes(maps: ConceptMap[]): Codes {
  const codes: Codes = { triples: new Set(), sources: new Set() };
  for (const group of maps.flatMap((m) => m.group ?? [])) {
    const system = group.target ?? '';
    for (const element of group.element) {
      codes.sources.add(element.code);
      for (const t of element.target ?? []) {
        if (t.equivalence !== 'unmatched' && t.code) {
          codes.triples.add(triple(element.code, system, t.code));
        }
      }
    }
    if (group.unmapped?.mode === 'fixed' && group.unmapped.code) {
      codes.sources.add(ANY_OTHER);
      codes.triples.add(triple(ANY_OTHER, system, group.unmapped.code));
    }
  }
  return codes;
}

/**
 * The codes of one doc table: the first column is the inbound code (or "(any other ...)"), each column
 * whose header is a short system name holds that system's codes, a "Notes" column is prose.
 * @param systems - short name -> system URL (the doc's `systems` table).
 * @returns the codes, and the problems found in the table itself.
 */
export function docCodes(header: string[], rows: { cells: string[]; line: number }[], systems: Map<string, string>): Codes & { problems: string[] } {
  const codes: Codes = { triples: new Set(), sources: new Set() };
  const problems: string[] = [];
  const columns = header.slice(1).map((h) => {
    const name = h.replace(/`/g, '').trim();
    if (name !== 'Notes' && !systems.has(name)) {
      problems.push(`column "${name}" is neither a short system name of the systems table nor "Notes"`);
    }
    return systems.get(name);
  });
  for (const row of rows) {
    const source = codeSpans(row.cells[0] ?? '')[0] ?? (/any other/.test(row.cells[0] ?? '') ? ANY_OTHER : undefined);
    if (!source) {
      problems.push(`line ${row.line}: the first cell names no inbound code`);
      continue;
    }
    codes.sources.add(source);
    columns.forEach((system, i) => {
      if (system) {
        for (const code of codeSpans(row.cells[i + 1] ?? '')) {
          codes.triples.add(triple(source, system, code));
        }
      }
    });
  }
  return { ...codes, problems };
}

/** What one side has and the other lacks. */
export function difference(doc: Codes, map: Codes): { missingInDoc: string[]; notInMaps: string[] } {
  const missingInDoc = [...map.triples].filter((t) => !doc.triples.has(t));
  const notInMaps = [...doc.triples].filter((t) => !map.triples.has(t));
  for (const s of map.sources) {
    if (!doc.sources.has(s)) {
      missingInDoc.push(`a row for ${s}`);
    }
  }
  for (const s of doc.sources) {
    if (!map.sources.has(s)) {
      notInMaps.push(`a row for ${s}`);
    }
  }
  return { missingInDoc, notInMaps };
}
