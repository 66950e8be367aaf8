/**
 * The demo dataset (examples/records.ndjson) through every mapping: each record maps to resources
 * valid against the profiles they declare, except the psychotherapy note, which is refused.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyRecord, NoteRecord, Participant, RecordKind, SessionRecord } from '../../src/domain/records.js';
import type { MappingContext } from '../../src/mapping/index.js';
import { projectRoot } from '../../src/paths.js';
import { validateOutbound } from '../../src/profiles/validate.js';
import { map, problemsOf } from './fixtures.js';

interface Line {
  kind: RecordKind;
  record: AnyRecord;
}

const lines = readFileSync(join(projectRoot(), 'examples', 'records.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Line);
const participants = Object.fromEntries(
  lines.filter((l) => l.kind === 'participant').map((l) => [l.record.id, l.record as Participant])
);
const sessions = new Map(lines.filter((l) => l.kind === 'session').map((l) => [l.record.id, l.record as SessionRecord]));

function contextFor(line: Line): Partial<MappingContext> {
  return line.kind === 'note' ? { session: sessions.get((line.record as NoteRecord).sessionId) } : { participants };
}

describe('examples/records.ndjson', () => {
  test('the dataset has records of every kind', () => {
    expect(new Set(lines.map((l) => l.kind))).toEqual(new Set(['participant', 'consent', 'session', 'note']));
  });

  test.each(lines.map((l) => [`${l.kind} ${l.record.id}`, l] as const))('%s', (_name, line) => {
    if (line.kind === 'note' && (line.record as NoteRecord).kind === 'psychotherapy-note') {
      expect(problemsOf(() => map(line.kind, line.record, contextFor(line)))).toEqual([
        { path: '/kind', message: expect.any(String) },
      ]);
      return;
    }
    const result = map(line.kind, line.record, contextFor(line));
    expect(result.resources.length).toBeGreaterThan(0);
    result.resources.forEach((r) => expect(() => validateOutbound(r.resource)).not.toThrow());
  });
});
