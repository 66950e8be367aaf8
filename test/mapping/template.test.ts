/**
 * The template language itself (mappings/README.md), independent of the four mappings.
 */
import { createHash } from 'node:crypto';
import { toTypedValue } from '@medplum/core';
import type { Env } from '../../src/mapping/env.js';
import type { Scope } from '../../src/mapping/expressions.js';
import { evaluateTemplate } from '../../src/mapping/template.js';
import type { Template } from '../../src/mapping/types.js';
import { mappings, NS } from './fixtures.js';

const record = {
  id: 'r-1',
  flag: true,
  count: 3,
  empty: '',
  names: ['Ann', 'Bo'],
  nested: { a: 1 },
  items: [{ code: 'x' }, { code: 'y' }],
  text: 'héllo',
  start: '2026-02-01T16:00:00Z',
  end: '2026-02-01T16:45:00Z',
};

function run(t: Template): { values: unknown[]; env: Env } {
  const env: Env = {
    mapping: { id: 'test.v1', version: '1.0.0', kind: 'session', file: 'test', definition: {} as never, expressions: new Map() },
    maps: mappings().conceptMaps,
    ns: NS,
    record,
    focus: [toTypedValue(record)],
    problems: [],
  };
  const scope: Scope = { vars: { '%ns': toTypedValue(NS) }, paths: {} };
  return { values: evaluateTemplate(t, '/resources/0/template', scope, env), env };
}

const value = (t: Template): unknown => run(t).values[0];

describe('template language', () => {
  test('a whole-string expression keeps the value type', () => {
    expect(value({ b: '{{ flag }}', n: '{{ count }}', o: '{{ nested }}', s: '{{ id }}' })).toEqual({
      b: true,
      n: 3,
      o: { a: 1 },
      s: 'r-1',
    });
  });

  test('copied objects never alias the input', () => {
    const out = value({ o: '{{ nested }}' }) as { o: { a: number } };
    out.o.a = 99;
    expect(record.nested.a).toBe(1);
  });

  test('in an array, every value is spliced in; empty keys, objects and arrays disappear', () => {
    expect(value({ given: ['{{ names }}', 'Cy'], none: '{{ missing }}', obj: { x: '{{ missing }}' }, arr: ['{{ missing }}'], e: '{{ empty }}' })).toEqual({
      given: ['Ann', 'Bo', 'Cy'],
    });
  });

  test('interpolation: text, and dropped whole when any part is empty', () => {
    expect(value({ ref: 'X?identifier={{ %ns }}|{{ id }}', gone: 'X|{{ missing }}' })).toEqual({ ref: `X?identifier=${NS}|r-1` });
  });

  test('several values where one is expected is a problem', () => {
    const { env } = run({ name: '{{ names }}' });
    expect(env.problems).toEqual([{ path: 'test.v1:/resources/0/template/name', message: expect.stringContaining('2 values') }]);
  });

  test('$each binds $var (default %item) per value', () => {
    expect(value([{ $each: 'items', $var: 'it', $do: { c: '{{ %it.code }}' } }, { $each: 'names', $do: '{{ %item }}!' }])).toEqual([
      { c: 'x' },
      { c: 'y' },
      'Ann!',
      'Bo!',
    ]);
  });

  test('$if / $then / $else', () => {
    expect(value({ a: { $if: 'flag', $then: 'yes', $else: 'no' }, b: { $if: 'missing.exists()', $then: 'yes' } })).toEqual({ a: 'yes' });
  });

  test('$let binds values in order', () => {
    expect(value({ $let: { x: '{{ id }}', y: '{{ %x }}-2' }, $in: { y: '{{ %y }}' } })).toEqual({ y: 'r-1-2' });
  });

  test('$translate to code, Coding and CodeableConcept; unknown codes are problems at their input path', () => {
    expect(value({ $translate: "'completed'", $map: 'session-status', $to: 'code' })).toBe('finished');
    expect(value({ $translate: "'video'", $map: 'session-modality', $to: 'Coding' })).toMatchObject({ code: 'VR' });
    expect(value({ $translate: "'joint'", $map: 'session-service-type', $to: 'CodeableConcept' })).toMatchObject({
      coding: [{ code: '71' }],
      text: 'Joint session',
    });
    const { env } = run([{ $translate: 'names', $map: 'session-status', $to: 'code' }]);
    expect(env.problems.map((p) => p.path)).toEqual(['/names/0', '/names/1']);
  });

  test('computed values', () => {
    expect(value({ d: { $base64: 'text' }, s: { $byteLength: 'text' }, h: { $sha1Base64: 'text' }, m: { $minutesBetween: ['start', 'end'] } })).toEqual({
      d: Buffer.from('héllo').toString('base64'),
      s: 6,
      h: createHash('sha1').update('héllo', 'utf8').digest('base64'),
      m: 45,
    });
  });

  test('$comment keys are documentation only', () => {
    expect(value({ $comment: 'why', a: 1 })).toEqual({ a: 1 });
  });
});
