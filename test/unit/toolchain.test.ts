import { validateResource } from '@medplum/core';
import { Client } from 'fhir-kit-client';
import { loadFhirDefinitions } from '../../src/fhir/definitions.js';
import { projectRoot } from '../../src/paths.js';

describe('toolchain', () => {
  test('medplum definitions load and validation rejects a bad Encounter', () => {
    loadFhirDefinitions();
    expect(() => validateResource({ resourceType: 'Encounter' } as any)).toThrow(/status|class/);
  });

  test('fhir-kit-client (ESM only) loads under jest', () => {
    const client = new Client({ baseUrl: 'http://127.0.0.1:1/fhir' });
    expect(client.baseUrl).toBe('http://127.0.0.1:1/fhir');
  });

  test('project root is found', () => {
    expect(projectRoot()).toMatch(/main$|collateral|[^/]+$/);
  });
});
