/**
 * The HTTP side of the workbench on the real service: POST /api/v1/$map (dry run, stores nothing)
 * and POST /fhir/$validate on the embedded FHIR server, with their errors as OperationOutcomes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { records } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { sd } from './helpers.js';

const FHIR = { 'content-type': 'application/fhir+json' };

describe('workbench over HTTP', () => {
  const tmp = tempDir();
  let svc: TestService;

  beforeAll(async () => {
    svc = await startTestService(tmp.dir, { SYNC_ENABLED: 'false' });
  });
  afterAll(async () => {
    await svc.close();
    tmp.cleanup();
  });

  describe('POST /api/v1/$map', () => {
    test('needs the API token', async () => {
      const r = await fetch(`${svc.url}/api/v1/$map?kind=participant`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(401);
    });

    test('one record: its resources and their validation; nothing is stored or queued', async () => {
      const r = await svc.api('POST', '/api/v1/$map?kind=participant', records.participant);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ kind: 'participant', id: 'p-001', status: 'valid', mapping: expect.stringMatching(/^participant\.v1@/) });
      expect(r.body.resources).toEqual([
        expect.objectContaining({ resourceType: 'RelatedPerson', key: 'https://fhir.example-practice.org/sid/collateral-contact|p-001:MRN-1001', write: 'upsert', profile: sd('collateral-related-person'), valid: true, issues: [] }),
      ]);
      expect((await svc.api('GET', '/api/v1/participants/p-001')).status).toBe(404);
      expect((await svc.api('GET', '/api/v1/sync/status')).body.outbox).toBe(0);
    });

    test("a session's participants come from the store: missing, a 422 at the reference's path; stored, the Encounter", async () => {
      const missing = await svc.api('POST', '/api/v1/$map?kind=session', records.session);
      expect(missing.status).toBe(422);
      expect(missing.body).toMatchObject({ resourceType: 'OperationOutcome', id: 'transform-failed' });
      expect(missing.body.issue[0]).toMatchObject({ expression: ['/participants/0/participantId'], details: { text: expect.stringContaining('p-001') } });
      expect((await svc.api('PUT', '/api/v1/participants/p-001', records.participant)).status).toBe(201);
      const mapped = await svc.api('POST', '/api/v1/$map?kind=session', records.session);
      expect(mapped.status).toBe(200);
      expect(mapped.body.resources[0].resource.participant[1].individual.reference).toBe(
        'RelatedPerson?identifier=https://fhir.example-practice.org/sid/collateral-contact|p-001:MRN-1001'
      );
    });

    test('a bad record: 400 with every problem and its JSON path; no kind: 400 saying so', async () => {
      const bad = await svc.api('POST', '/api/v1/$map?kind=session', { id: 's-bad', type: 'group', client: {} });
      expect(bad.status).toBe(400);
      expect(bad.body.issue.map((i: any) => i.expression[0])).toEqual(expect.arrayContaining(['/type', '/client/mrn', '/start']));
      const noKind = await svc.api('POST', '/api/v1/$map', records.participant);
      expect(noKind.status).toBe(400);
      expect(noKind.body.issue[0].details.text).toContain('?kind=');
    });

    test('a psychotherapy note: 422 at /kind (with every other problem: its session is not stored)', async () => {
      const r = await svc.api('POST', '/api/v1/$map?kind=note', { ...records.note, kind: 'psychotherapy-note' });
      expect(r.status).toBe(422);
      expect(r.body.issue.map((i: any) => [i.expression[0], i.details.text])).toEqual([
        ['/kind', "HIPAA psychotherapy notes never leave the practice's system"],
        ['/sessionId', 'session s-001 was not given to the mapping'],
      ]);
    });

    test('NDJSON: a result per line, the referenced records from earlier lines', async () => {
      const body = readFileSync(join(projectRoot(), 'examples', 'records.ndjson'), 'utf8');
      const r = await svc.api('POST', '/api/v1/$map', body, { 'content-type': 'application/x-ndjson' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ records: 44, valid: 43, invalid: 0, rejected: 1 });
      expect(r.body.results.map((x: any) => x.line)).toEqual(Array.from({ length: 44 }, (_, i) => i + 1));
    });
  });

  describe('POST /fhir/$validate', () => {
    let encounter: any;
    beforeAll(async () => {
      await svc.api('PUT', '/api/v1/participants/p-001', records.participant);
      encounter = (await svc.api('POST', '/api/v1/$map?kind=session', records.session)).body.resources[0].resource;
    });

    test('is declared in the CapabilityStatement', async () => {
      const cs = (await svc.api('GET', '/fhir/metadata')).body;
      expect(cs.rest[0].operation).toEqual([{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }]);
    });

    test('a valid resource: 200 and one information issue naming the profile', async () => {
      const r = await svc.api('POST', '/fhir/Encounter/$validate', encounter, FHIR);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        resourceType: 'OperationOutcome',
        id: 'validation-passed',
        issue: [{ severity: 'information', code: 'informational', details: { text: `Valid against ${sd('collateral-encounter')}` } }],
      });
    });

    test('an invalid resource: 200 with every issue, its FHIR path and what was expected', async () => {
      const broken = { ...encounter, type: [encounter.type[0]], subject: { reference: 'Group/1' } };
      const r = await svc.api('POST', '/fhir/$validate', broken, FHIR);
      expect(r.status).toBe(200);
      expect(r.body.id).toBe('validation-failed');
      expect(r.body.issue).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ severity: 'error', expression: ['Encounter.type'], details: { text: expect.stringContaining("slice 'snomed': expected 1..1, but found 0: 'snomed' is a CodeableConcept with coding from http://snomed.info/sct") } }),
          expect.objectContaining({ severity: 'error', expression: ['Encounter'], details: { text: expect.stringContaining('Constraint cen-1 not met') } }),
        ])
      );
    });

    test('Parameters with a resource and a profile', async () => {
      const params = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: encounter },
          { name: 'profile', valueUri: sd('collateral-consent') },
        ],
      };
      const r = await svc.api('POST', '/fhir/$validate', params, FHIR);
      expect(r.body.issue[0]).toMatchObject({ severity: 'error', details: { text: 'CollateralConsent constrains Consent, not Encounter' } });
    });

    test('a body that is not a resource, or of another type than the URL: 400', async () => {
      expect((await svc.api('POST', '/fhir/$validate', { hello: 'world' }, FHIR)).status).toBe(400);
      const wrongType = await svc.api('POST', '/fhir/Consent/$validate', encounter, FHIR);
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.issue[0].details.text).toBe('$validate on Consent was given a Encounter');
    });
  });
});
