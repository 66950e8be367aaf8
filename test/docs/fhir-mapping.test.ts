/**
 * docs/fhir-mapping.md against the mappings (issue #14 item 1): every code table matches its ConceptMaps
 * both ways, every ConceptMap is documented, and every fixed code and identifier system that the
 * mapping files and the sync write is named on the page.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { codeSpans, markers, repoFile, tableAfter, tableWithHeader } from './markdown.js';
import { conceptMaps, difference, docCodes, mapCodes } from './mapping-check.js';

const doc = repoFile('docs/fhir-mapping.md');
const maps = conceptMaps();
const systems = new Map(tableAfter(doc, 'systems').map((r) => [r.cells[0], codeSpans(r.cells[1])[0]] as [string, string]));
const tables = markers(doc, 'codes').map((ids) => ({ ids: ids.split(','), ...tableWithHeader(doc, `codes: ${ids}`) }));
const spans = new Set(codeSpans(doc));

/** Every `{ "system": ..., "code": "<literal>" }` of the mapping templates (codes that need no ConceptMap). */
function fixedCodes(node: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(node)) {
    node.forEach((n) => fixedCodes(n, out));
  } else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (typeof o.system === 'string' && typeof o.code === 'string' && !o.code.includes('{{')) {
      out.add(o.code);
    }
    Object.values(o).forEach((v) => fixedCodes(v, out));
  }
  return out;
}

describe('docs/fhir-mapping.md matches mappings/', () => {
  test('every ConceptMap has exactly one code table, and every table names existing ConceptMaps', () => {
    const documented = tables.flatMap((t) => t.ids);
    expect(documented.filter((id) => !maps.has(id))).toEqual([]);
    expect([...maps.keys()].filter((id) => documented.filter((d) => d === id).length !== 1)).toEqual([]);
  });

  test('every target system of the ConceptMaps has a short name in the systems table', () => {
    const targets = new Set([...maps.values()].flatMap((m) => (m.group ?? []).map((g) => g.target ?? '')));
    const named = new Set(systems.values());
    expect([...targets].filter((t) => !named.has(t))).toEqual([]);
  });

  test.each(tables.map((t) => [t.ids.join(' + '), t] as const))('codes: %s', (_name, table) => {
    const fromDoc = docCodes(table.header, table.rows, systems);
    expect(fromDoc.problems).toEqual([]);
    const fromMaps = mapCodes(table.ids.map((id) => maps.get(id)!));
    expect(difference(fromDoc, fromMaps)).toEqual({ missingInDoc: [], notInMaps: [] });
  });

  test('every fixed code of the mapping templates is named on the page', () => {
    const dir = join(projectRoot(), 'mappings');
    const codes = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => /^[a-z]+\.v\d+\.json$/.test(f))) {
      fixedCodes(JSON.parse(readFileSync(join(dir, file), 'utf8')), codes);
    }
    expect(codes.size).toBeGreaterThan(10);
    expect([...codes].filter((c) => !spans.has(c) && !doc.includes(`\`${c}\` `))).toEqual([]);
  });

  test('every identifier system the mappings and the sync write is named on the page', () => {
    const sources = [
      ...readdirSync(join(projectRoot(), 'mappings')).filter((f) => f.endsWith('.json')).map((f) => join('mappings', f)),
      ...readdirSync(join(projectRoot(), 'src', 'sync')).filter((f) => f.endsWith('.ts')).map((f) => join('src', 'sync', f)),
    ];
    const sids = new Set(sources.flatMap((f) => [...repoFile(f).matchAll(/\/sid\/[a-z-]+/g)].map((m) => m[0])));
    expect(sids.size).toBeGreaterThan(5);
    expect([...sids].filter((s) => !doc.includes(`${s}\``) && !doc.includes(`${s}|`))).toEqual([]);
  });
});

describe('the comparison finds drift (so the tests above can fail)', () => {
  const table = tables.find((t) => t.ids.includes('session-modality'))!;
  const map = mapCodes([maps.get('session-modality')!]);

  test('a code changed in the doc, a row missing, an unknown column', () => {
    const changed = table.rows.map((r) => (r.cells[0] === '`video`' ? { ...r, cells: [r.cells[0], '`AMB`', r.cells[2]] } : r));
    const missing = table.rows.filter((r) => r.cells[0] !== '`phone`');
    expect(difference(docCodes(table.header, changed, systems), map)).toEqual({
      missingInDoc: [expect.stringContaining('video -> http://terminology.hl7.org/CodeSystem/v3-ActCode|VR')],
      notInMaps: [expect.stringContaining('video -> http://terminology.hl7.org/CodeSystem/v3-ActCode|AMB')],
    });
    expect(difference(docCodes(table.header, missing, systems), map).missingInDoc).toEqual(
      expect.arrayContaining([expect.stringContaining('a row for phone')])
    );
    expect(docCodes(['Inbound', 'v3-ActCodes'], table.rows, systems).problems).toEqual([expect.stringContaining('v3-ActCodes')]);
  });

  test('an unmatched code is a row without codes; an unmapped fallback is an "(any other)" row', () => {
    const noteKind = tables.find((t) => t.ids.includes('note-kind'))!;
    const withoutFallback = noteKind.rows.filter((r) => !r.cells[0].includes('any other'));
    expect(difference(docCodes(noteKind.header, withoutFallback, systems), mapCodes([maps.get('note-kind')!])).missingInDoc).toEqual(
      expect.arrayContaining([expect.stringContaining('(any other) -> http://loinc.org|11506-3')])
    );
  });
});
