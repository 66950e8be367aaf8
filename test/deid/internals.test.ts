/**
 * The shortcuts the de-identifier takes for speed give the same answers as the slow, general way:
 * the one-shot HMAC equals node's createHmac, and where() conditions decided natively agree with
 * @medplum/core's FHIRPath, including the cases they must hand over (choice elements, repeats).
 */
import { createHmac } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { createDeidentifier } from '../../src/deid/index.js';
import { hmacSha256Hex } from '../../src/deid/pseudonyms.js';
import { KEY, policyFrom } from './helpers.js';

test('the one-shot HMAC-SHA-256 equals createHmac for short, long, non-ASCII values and long keys', () => {
  for (const key of [KEY, 'k'.repeat(100)]) {
    const fast = hmacSha256Hex(Buffer.from(key));
    for (const value of ['', 'pat-1', 'Zoë Ångström 中文', 'x'.repeat(400), 'é'.repeat(600), 'y'.repeat(5000)]) {
      expect(fast(value)).toBe(createHmac('sha256', key).update(value, 'utf8').digest('hex'));
    }
  }
});

test('where() decided natively agrees with FHIRPath: plain values, repeats, choice elements', () => {
  const observation: any = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'urn:a', code: '1' }, { system: 'urn:b', code: '2' }] },
    component: [
      { code: { text: 'a' }, valueString: 'secret' },
      { code: { text: 'b' }, valueString: 'public' },
    ],
  };
  const run = (path: string): any => createDeidentifier(policyFrom({ fhirPathRules: [{ path, method: 'redact' }] }), KEY)(observation as Resource);
  // A choice element (value -> valueString): handed to FHIRPath, which resolves it.
  expect(run("Observation.component.where(value = 'secret')").component).toEqual([{ code: { text: 'b' }, valueString: 'public' }]);
  // A repeating step (two codings): FHIRPath's collection semantics decide.
  expect(run("Observation.code.where(coding.system = 'urn:a')").code).toEqual(observation.code);
  expect(run("Observation.code.coding.where(system = 'urn:a')").code).toEqual({ coding: [{ system: 'urn:b', code: '2' }] });
  expect(run("Observation.code.coding.where(system.endsWith(':b'))").code).toEqual({ coding: [{ system: 'urn:a', code: '1' }] });
  expect(run("Observation.code.coding.where(system.startsWith('urn'))").code).toBeUndefined();
});
