/**
 * Engine behaviour the golden cases (test/mapping-cases) cannot show, because the inbound contract
 * never lets such a record through or because it is about the engine rather than one output.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateResource } from '@medplum/core';
import type { DocumentReference } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../src/fhir/definitions.js';
import { MAX_NOTE_TEXT_BYTES } from '../../src/inbound/semantic.js';
import { loadMappings, mapRecord } from '../../src/mapping/index.js';
import { projectRoot } from '../../src/paths.js';
import { config, LOINC, map, mapOne, note, problemsOf, session } from './fixtures.js';

const context = { session: session() };
const temps: string[] = [];
afterAll(() => temps.forEach((t) => rmSync(t, { recursive: true, force: true })));

describe('mapping engine', () => {
  test('attachment data, size and hash are base64, UTF-8 byte count and SHA-1 of the bytes (checked against node:crypto)', () => {
    const text = 'Mamá dice: «duerme mejor» 😴\nSegunda línea';
    const bytes = Buffer.from(text, 'utf8');
    const { attachment } = mapOne<DocumentReference>('note', note({ text }), context).content[0];
    expect(Buffer.from(attachment.data as string, 'base64').toString('utf8')).toBe(text);
    expect(attachment.size).toBe(bytes.length);
    expect(attachment.size).toBeGreaterThan(text.length);
    expect(attachment.hash).toBe(createHash('sha1').update(bytes).digest('base64'));
  });

  test('a note at the inbound limit of UTF-8 bytes becomes a DocumentReference that FHIR validation accepts; one more byte would not', () => {
    loadFhirDefinitions();
    const atLimit = mapOne<DocumentReference>('note', note({ text: 'é'.repeat(MAX_NOTE_TEXT_BYTES / 2) }), context);
    expect(atLimit.content[0].attachment.size).toBe(MAX_NOTE_TEXT_BYTES);
    expect(() => validateResource(atLimit)).not.toThrow();
    // Why the limit is where it is: three bytes more make the base64 string longer than servers take.
    const over = mapOne<DocumentReference>('note', note({ text: 'a'.repeat(MAX_NOTE_TEXT_BYTES + 3) }), context);
    expect(() => validateResource(over)).toThrow(/String cannot be larger than 1 MB/);
  });

  test('a note kind the ConceptMap does not list falls back to LOINC 11506-3 (group.unmapped)', () => {
    const d = mapOne<DocumentReference>('note', note({ kind: 'intake-summary' as never }), context);
    expect(d.type?.coding).toEqual([{ system: LOINC, code: '11506-3', display: 'Progress note' }]);
  });

  test('a psychotherapy note is refused by the engine even when the mapping file forgets its reject rule', () => {
    const root = mkdtempSync(join(tmpdir(), 'engine-test-'));
    temps.push(root);
    const dir = join(root, 'mappings');
    cpSync(join(projectRoot(), 'mappings'), dir, { recursive: true });
    const file = join(dir, 'note.v1.json');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    m.reject = m.reject.filter((r: { if: string }) => !r.if.includes('psychotherapy'));
    writeFileSync(file, JSON.stringify(m));
    const set = loadMappings(dir);
    expect(problemsOf(() => mapRecord(set, 'note', note({ kind: 'psychotherapy-note' }), { config, ...context }))).toEqual([
      { path: '/kind', message: expect.stringContaining('psychotherapy') },
    ]);
  });

  test('the version of the mapping file is stamped on every resource it produces', () => {
    const root = mkdtempSync(join(tmpdir(), 'engine-test-'));
    temps.push(root);
    const dir = join(root, 'mappings');
    cpSync(join(projectRoot(), 'mappings'), dir, { recursive: true });
    const file = join(dir, 'note.v1.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/"version": "[^"]+"/, '"version": "7.3.1"'));
    const result = mapRecord(loadMappings(dir), 'note', note(), { config, ...context });
    expect(result).toMatchObject({ mappingId: 'note.v1', mappingVersion: '7.3.1' });
    expect(result.resources[0].resource.meta?.tag).toEqual([{ system: `${config.ns}/CodeSystem/mapping-version`, code: 'note.v1@7.3.1' }]);
    expect(map('note', note(), context).resources[0].resource.meta?.tag?.[0].code).toMatch(/^note\.v1@\d+\.\d+\.\d+$/);
  });
});
