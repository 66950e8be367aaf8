/**
 * Policy files are data checked at start: a broken one fails with every problem, each naming the file
 * and the JSON path; the shipped policies load.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { loadDeidPolicies, loadDeidPolicy } from '../../src/deid/index.js';
import { tempDir } from '../helpers/tmp.js';
import { policyFrom, problemsOf } from './helpers.js';

describe('policy files', () => {
  test('the shipped policies load; safe-harbor is the default', () => {
    const all = loadDeidPolicies();
    expect(all.map((p) => p.id)).toContain('safe-harbor');
    const p = loadDeidPolicy();
    expect(p.id).toBe('safe-harbor');
    expect(p.file).toBe(join('deidentify', 'safe-harbor.json'));
    expect(p.rules.length).toBeGreaterThan(20);
  });

  test('schema problems: every one, with the file and the JSON path', () => {
    const tmp = tempDir('deid-bad-');
    try {
      const file = join(tmp.dir, 'broken.json');
      writeFileSync(
        file,
        JSON.stringify({
          id: 'broken',
          resourceTypes: [],
          fhirPathRules: [{ path: 'Patient.name', method: 'scramble' }, { method: 'redact' }, { path: 'Patient.name', method: 'redact', colour: 'red' }],
          parameters: { dateShiftRangeDays: 0 },
        })
      );
      const problems = problemsOf(() => loadDeidPolicy(file));
      const at = (path: string): string[] => problems.filter((p) => p.expression === path).map((p) => p.text);
      expect(at('/resourceTypes').join()).toMatch(/broken\.json: .*fewer than 1/);
      expect(at('/fhirPathRules/0/method').join()).toMatch(/broken\.json: must be one of: redact, keep, cryptoHash/);
      expect(at('/fhirPathRules/1').join()).toMatch(/missing 'path'/);
      expect(at('/fhirPathRules/2/colour').join()).toMatch(/unknown key 'colour'/);
      expect(at('/parameters/dateShiftRangeDays').join()).toMatch(/>= 1/);
    } finally {
      tmp.cleanup();
    }
  });

  test('semantic problems: paths that do not parse or name no element, methods that do not fit', () => {
    const problems = problemsOf(() =>
      policyFrom({
        id: 'semantic',
        resourceTypes: ['Patient', 'Spaceship'],
        clients: { Encounter: 'Encounter.subject.reference' },
        fhirPathRules: [
          { path: 'Patient.name.(', method: 'redact' },
          { path: 'Patient.nmae', method: 'redact' },
          { path: 'Patient.gender', method: 'dateShift' },
          { path: 'Patient.birthDate', method: 'generalize' },
          { path: 'Patient.name', method: 'substitute' },
          { path: 'Patient.name.count()', method: 'redact' },
          { path: 'name', method: 'redact' },
          { path: 'Patient', method: 'redact' },
          { path: 'Patient.birthDate', method: 'keep', to: 'year' },
          { path: "nodesByType('Humanname')", method: 'redact' },
          { path: 'Patient.multipleBirth.ofType(dateTime)', method: 'redact' },
        ],
      })
    );
    const text = (path: string): string => problems.filter((p) => p.expression === path).map((p) => p.text).join(' / ');
    expect(text('/resourceTypes/1')).toMatch(/"Spaceship" is not a FHIR R4 resource type/);
    expect(text('/clients/Encounter')).toMatch(/not in resourceTypes/);
    expect(text('/fhirPathRules/0/path')).toMatch(/not valid FHIRPath/);
    expect(text('/fhirPathRules/1/path')).toMatch(/Patient has no element "nmae"/);
    expect(text('/fhirPathRules/2')).toMatch(/dateShift applies to date, dateTime and instant; this path selects a code/);
    expect(text('/fhirPathRules/3')).toMatch(/generalize needs "to"/);
    expect(text('/fhirPathRules/4')).toMatch(/substitute needs "replaceWith"/);
    expect(text('/fhirPathRules/5/path')).toMatch(/uses count\(\)/);
    expect(text('/fhirPathRules/6/path')).toMatch(/starts with "name"/);
    expect(text('/fhirPathRules/7/path')).toMatch(/selects a whole resource/);
    expect(text('/fhirPathRules/8')).toMatch(/"to" and "ranges" belong to generalize, not keep/);
    expect(text('/fhirPathRules/9/path')).toMatch(/no FHIR type is called Humanname/);
    expect(text('/fhirPathRules/10/path')).toMatch(/Patient.multipleBirth cannot be a dateTime/);
  });

  test('a broken neighbour in the policy folder stops the load of any policy; an unknown id is named', () => {
    const tmp = tempDir('deid-dir-');
    try {
      mkdirSync(join(tmp.dir, 'p'));
      writeFileSync(join(tmp.dir, 'p', 'good.json'), JSON.stringify({ id: 'good', resourceTypes: ['Patient'], fhirPathRules: [{ path: 'Patient.name', method: 'redact' }] }));
      expect(loadDeidPolicy(join(tmp.dir, 'p'), 'good').id).toBe('good');
      expect(problemsOf(() => loadDeidPolicy(join(tmp.dir, 'p'), 'other'))[0].text).toMatch(/no policy "other" here \(found: good\)/);
      writeFileSync(join(tmp.dir, 'p', 'bad.json'), '{ not json');
      writeFileSync(join(tmp.dir, 'p', 'misnamed.json'), JSON.stringify({ id: 'other', resourceTypes: ['Patient'], fhirPathRules: [{ path: 'Patient.name', method: 'redact' }] }));
      const problems = problemsOf(() => loadDeidPolicy(join(tmp.dir, 'p'), 'good'));
      expect(problems).toEqual([
        expect.objectContaining({ text: expect.stringMatching(/bad\.json: not valid JSON/) }),
        { expression: '/id', text: expect.stringMatching(/misnamed\.json: the file of policy "other" must be named other\.json/) },
      ]);
    } finally {
      tmp.cleanup();
    }
  });

  test('DEID_KEY must be a real secret; DEID_POLICY a policy id; retention at least 24 hours', () => {
    expect(() => loadConfig({ DEID_KEY: 'short', DEID_POLICY: 'Bad Name', EXPORT_RETENTION_HOURS: '2' })).toThrow(
      /DEID_KEY must be at least 32 characters[\s\S]*DEID_POLICY must be the id[\s\S]*EXPORT_RETENTION_HOURS must be a whole number from 24/
    );
    const c = loadConfig({ DEID_KEY: 'x'.repeat(32) });
    expect(c.deid).toEqual({ key: 'x'.repeat(32), policy: 'safe-harbor' });
    expect(c.exports.retentionHours).toBe(24);
  });
});
