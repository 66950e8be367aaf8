/**
 * Pseudonyms are stable for a key (across de-identifier instances, i.e. runs) and unrelated under another
 * key; date shifts are one offset per client, so intervals within a client survive.
 */
import type { Resource } from '@medplum/fhirtypes';
import { createDeidentifier, loadDeidPolicy } from '../../src/deid/index.js';
import { KEY, OTHER_KEY } from './helpers.js';

const policy = loadDeidPolicy(); // the shipped Safe Harbor policy
const DAY = 86_400_000;

const patient = (id: string): Resource => ({ resourceType: 'Patient', id, birthDate: '2010-03-02', gender: 'male' }) as Resource;
const encounter = (id: string, patientId: string, start: string): Resource =>
  ({
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: `Patient/${patientId}` },
    period: { start: `${start}T16:00:00-05:00`, end: `${start}T16:50:00-05:00` },
  }) as Resource;
const relatedPerson = (id: string, patientId: string, start: string): Resource =>
  ({ resourceType: 'RelatedPerson', id, patient: { reference: `Patient/${patientId}` }, period: { start } }) as Resource;

describe('pseudonyms and date shifts', () => {
  test('the same key gives the same output in another run; another key gives other pseudonyms and offsets', () => {
    const resources = [patient('p-1'), encounter('e-1', 'p-1', '2026-02-01'), relatedPerson('rp-1', 'p-1', '2026-01-12')];
    const first = resources.map(createDeidentifier(policy, KEY));
    const second = resources.map(createDeidentifier(loadDeidPolicy(), KEY));
    expect(second).toEqual(first);
    const other = resources.map(createDeidentifier(policy, OTHER_KEY)) as any[];
    for (let i = 0; i < resources.length; i++) {
      expect(other[i].id).not.toBe((first[i] as any).id);
      expect(other[i].id).toMatch(/^[0-9a-f]{64}$/);
    }
    // Joins: the encounter's subject is the patient's pseudonym under either key.
    expect((first[1] as any).subject.reference).toBe(`Patient/${(first[0] as any).id}`);
    expect(other[1].subject.reference).toBe(`Patient/${other[0].id}`);
  });

  test('one offset per client: intervals between a client\'s dates are kept across resource types', () => {
    const deidentify = createDeidentifier(policy, KEY) as (r: Resource) => any;
    const enc1 = deidentify(encounter('e-1', 'p-1', '2026-02-01'));
    const enc2 = deidentify(encounter('e-2', 'p-1', '2026-03-15'));
    const rp = deidentify(relatedPerson('rp-1', 'p-1', '2026-01-12'));
    const offset = (Date.parse(enc1.period.start) - Date.parse('2026-02-01')) / DAY;
    expect(offset).not.toBe(0);
    expect((Date.parse(enc2.period.start) - Date.parse('2026-03-15')) / DAY).toBe(offset);
    expect((Date.parse(rp.period.start) - Date.parse('2026-01-12')) / DAY).toBe(offset);
    expect((Date.parse(enc2.period.start) - Date.parse(enc1.period.start)) / DAY).toBe(42);
  });

  test('clients get their own offsets, each within the configured range', () => {
    const deidentify = createDeidentifier(policy, KEY) as (r: Resource) => any;
    const offsets = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const out = deidentify(encounter(`e-${i}`, `p-${i}`, '2026-02-01'));
      const offset = (Date.parse(out.period.start) - Date.parse('2026-02-01')) / DAY;
      expect(offset).not.toBe(0);
      expect(Math.abs(offset)).toBeLessThanOrEqual(policy.dateShiftRangeDays);
      offsets.add(offset);
    }
    expect(offsets.size).toBeGreaterThan(20); // 40 clients over 100 possible offsets
    expect([...offsets].some((o) => o < 0) && [...offsets].some((o) => o > 0)).toBe(true);
  });
});

test('the strict policy keeps only years and removes identifier values, while ids still join', () => {
  const strict = createDeidentifier(loadDeidPolicy(undefined, 'safe-harbor-strict'), KEY) as (r: Resource) => any;
  const enc = strict({ ...encounter('e-1', 'p-1', '2026-02-01'), identifier: [{ system: 'urn:s', value: 's-1' }] } as Resource);
  expect(enc.period).toEqual({ start: '2026', end: '2026' });
  expect(enc.identifier).toEqual([{ system: 'urn:s' }]);
  expect(enc.subject.reference).toBe(`Patient/${strict(patient('p-1')).id}`);
});
