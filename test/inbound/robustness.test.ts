/**
 * Malformed input of any shape must end in an input-invalid OperationOutcomeError, never in another
 * exception: random mutations of the contract examples, fed to both entry points.
 */
import { RECORD_KINDS, type RecordKind } from '../../src/domain/records.js';
import { parseImportLine, validateRecord } from '../../src/inbound/validate.js';
import { OperationOutcomeError } from '../../src/outcomes.js';
import { consentExampleWithForm, copy, noteExample, participantExample, sessionExample } from './helpers.js';

const EXAMPLES: Record<RecordKind, unknown> = {
  participant: participantExample,
  consent: consentExampleWithForm,
  session: sessionExample,
  note: noteExample,
};

// A small deterministic PRNG (mulberry32) so a failure can be replayed.
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_VALUES: unknown[] = [
  null, '', 0, -1, 1.5, true, [], {}, [null], [{}], 'x'.repeat(70), '2026-13-01', '2026-02-01T25:00:00Z',
  '9999999999', { __proto__: { polluted: true } }, [[[[]]]], '\u0000', 'p-1', '1234567893', 'revoked',
];

function mutate(value: unknown, random: () => number, depth = 0): unknown {
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  if (depth > 3 || random() < 0.2) {
    return pick(ODD_VALUES);
  }
  if (Array.isArray(value)) {
    return value.length ? value.map((v) => (random() < 0.5 ? mutate(v, random, depth + 1) : v)) : [pick(ODD_VALUES)];
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(out);
    const key = pick([...keys, 'unknownField', '__proto__', 'constructor']);
    if (random() < 0.2) {
      delete out[key];
    } else {
      Object.defineProperty(out, key, { value: mutate(out[key], random, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return pick(ODD_VALUES);
}

function expectOnlyOutcomeErrors(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(OperationOutcomeError);
    const issues = (err as OperationOutcomeError).outcome.issue ?? [];
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) {
      expect(typeof issue.details?.text).toBe('string');
      expect(issue.expression?.[0] ?? '').toMatch(/^(\/.*)?$/);
    }
  }
}

describe('robustness', () => {
  test.each(RECORD_KINDS)('random mutations of a %s never throw anything but the outcome error', (kind) => {
    const random = rng(RECORD_KINDS.indexOf(kind) + 1);
    for (let i = 0; i < 400; i++) {
      let value: unknown = copy(EXAMPLES[kind]);
      for (let m = 1 + Math.floor(random() * 4); m > 0; m--) {
        value = mutate(value, random);
      }
      expectOnlyOutcomeErrors(() => validateRecord(kind, value));
      const text = JSON.stringify({ kind: random() < 0.9 ? kind : 'other', record: value }) ?? '';
      expectOnlyOutcomeErrors(() => parseImportLine(text, i + 1));
      expectOnlyOutcomeErrors(() => parseImportLine(text.slice(0, Math.floor(random() * text.length)), i + 1));
    }
  });

  test.each([undefined, null, 42, 'text', [], () => 1, Symbol('s'), 10n])('the body %p is refused as a whole', (body) => {
    expectOnlyOutcomeErrors(() => validateRecord('session', body));
    expect(() => validateRecord('session', body)).toThrow(OperationOutcomeError);
  });

  test('a kind that is not a record kind is refused', () => {
    expect(() => validateRecord('invoice' as RecordKind, {})).toThrow(OperationOutcomeError);
  });

  test('a line that is not a string is refused', () => {
    expectOnlyOutcomeErrors(() => parseImportLine(undefined as unknown as string, 1));
    expect(() => parseImportLine(undefined as unknown as string, 1)).toThrow(OperationOutcomeError);
  });

  test('deeply nested input is refused without a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expectOnlyOutcomeErrors(() => parseImportLine(`{"kind":"note","record":{"text":${deep}}}`, 1));
    expectOnlyOutcomeErrors(() => parseImportLine(`{"kind":"note","record":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`, 1));
  });
});
