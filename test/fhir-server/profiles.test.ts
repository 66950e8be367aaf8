/**
 * Target profiles over HTTP: the standalone embedded server restricted to full, epic-like and
 * oracle-like. The CapabilityStatement lists exactly what docs/target-profiles-and-faults.md says each EHR accepts,
 * every request is accepted or refused exactly as that statement says, and refused requests write nothing.
 */
import type { CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { loadConfig } from '../../src/config.js';
import { startStandaloneFhirServer } from '../../src/fhir-server/standalone.js';
import type { ProfileName } from '../../src/fhir-server/target-profiles.js';
import { startFhirTarget, type FhirTarget } from '../helpers/fhir-target.js';
import { startTestService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const SYS = 'https://collateral.example/ids';
const FHIR = 'application/fhir+json';
const PROBED_TYPES = ['Patient', 'Practitioner', 'Encounter', 'RelatedPerson', 'Consent', 'DocumentReference', 'Provenance', 'Organization'];
const INTERACTIONS = ['create', 'read', 'search-type', 'update', 'patch', 'delete'] as const;

/** A minimal valid R4 resource of each probed type (the server validates what it stores). */
function sample(type: string, key: string, patientRef = 'Patient/p'): Resource {
  const identifier = [{ system: SYS, value: key }];
  const subject = { reference: patientRef };
  const r: Record<string, Record<string, unknown>> = {
    Patient: { identifier, name: [{ family: 'Test' }] },
    Practitioner: { identifier },
    Encounter: { identifier, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject },
    RelatedPerson: { identifier, patient: subject },
    Consent: {
      identifier,
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: subject,
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    },
    DocumentReference: {
      identifier,
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '34904-3' }] },
      subject,
      content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('x').toString('base64') } }],
    },
    Provenance: { target: [subject], recorded: '2026-01-01T00:00:00Z', agent: [{ who: { reference: 'Practitioner/t' } }] },
    Organization: { identifier, name: 'Example' },
  };
  return { resourceType: type, ...r[type] } as Resource;
}

interface Answer {
  status: number;
  body: any;
  allow: string | null;
}

async function send(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { accept: FHIR, ...(body === undefined ? {} : { 'content-type': FHIR }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, allow: res.headers.get('allow') };
}

function interactionsOf(cs: CapabilityStatement): Record<string, string[]> {
  return Object.fromEntries((cs.rest?.[0].resource ?? []).map((r) => [r.type, (r.interaction ?? []).map((i) => i.code)]));
}

const EXPECTED: Record<Exclude<ProfileName, 'full'>, { system: string[]; types: Record<string, string[]> }> = {
  'epic-like': {
    system: [],
    types: {
      Patient: ['read', 'search-type'],
      Practitioner: ['read', 'search-type'],
      Encounter: ['read', 'search-type'],
      RelatedPerson: ['read', 'search-type'],
      Consent: ['read', 'search-type'],
      DocumentReference: ['read', 'search-type', 'create', 'update'],
      Provenance: ['read'],
    },
  },
  'oracle-like': {
    system: ['batch'],
    types: {
      Patient: ['read', 'search-type'],
      Practitioner: ['read', 'search-type', 'create'],
      Encounter: ['read', 'search-type', 'create', 'patch'],
      RelatedPerson: ['read', 'search-type', 'create', 'patch'],
      Consent: ['read', 'search-type'],
      DocumentReference: ['read', 'search-type', 'create', 'update'],
      Provenance: ['read', 'search-type', 'create'],
    },
  },
};

describe.each(['epic-like', 'oracle-like'] as const)('%s: the CapabilityStatement', (profile) => {
  const tmp = tempDir();
  let target: FhirTarget;
  let cs: CapabilityStatement;
  beforeAll(async () => {
    target = await startFhirTarget(profile, tmp.dir);
    cs = (await send('GET', `${target.url}/metadata`)).body;
  });
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  test('lists exactly the types and interactions of docs/target-profiles-and-faults.md', () => {
    expect(interactionsOf(cs)).toEqual(EXPECTED[profile].types);
    expect((cs.rest?.[0].interaction ?? []).map((i) => i.code)).toEqual(EXPECTED[profile].system);
    expect(cs.rest?.[0].operation).toBeUndefined();
  });

  test('declares no conditional operations and no update-as-create on any type', () => {
    for (const r of cs.rest?.[0].resource ?? []) {
      expect(r).toMatchObject({ conditionalCreate: false, conditionalUpdate: false, conditionalDelete: 'not-supported', updateCreate: false });
    }
  });

  test('lists search parameters only where search is offered, restricted where the EHR restricts them', () => {
    const params: Record<string, string[] | undefined> = Object.fromEntries(
      (cs.rest?.[0].resource ?? []).map((r) => [r.type, r.searchParam?.map((p) => p.name)])
    );
    expect(params.Provenance).toEqual(profile === 'epic-like' ? undefined : expect.arrayContaining(['_id', 'target', 'patient']));
    if (profile === 'oracle-like') {
      expect([...(params.DocumentReference ?? [])].sort()).toEqual(['_id', 'category', 'date', 'encounter', 'patient', 'period', 'type']);
      expect([...(params.RelatedPerson ?? [])].sort()).toEqual(['_id', 'identifier', 'patient']);
    } else {
      expect(params.DocumentReference).toEqual(expect.arrayContaining(['identifier', 'encounter', 'relatesto', 'security-label']));
    }
  });
});

describe.each(['full', 'epic-like', 'oracle-like'] as const)('%s: every request does what /metadata says', (profile) => {
  const tmp = tempDir();
  let target: FhirTarget;
  let allowed: Record<string, string[]>;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    target = await startFhirTarget(profile, tmp.dir);
    allowed = interactionsOf((await send('GET', `${target.url}/metadata`)).body);
    const seeded = await target.seed(PROBED_TYPES.map((t) => sample(t, `seed-${t}`)));
    seeded.forEach((r) => (ids[r.resourceType] = r.id as string));
  });
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  const request = (type: string, interaction: (typeof INTERACTIONS)[number]): Promise<Answer> => {
    const base = `${target.url}/${type}`;
    const existing = { ...sample(type, `seed-${type}`), id: ids[type], language: 'en' };
    switch (interaction) {
      case 'create':
        return send('POST', base, sample(type, `new-${type}`));
      case 'read':
        return send('GET', `${base}/${ids[type]}`);
      case 'search-type':
        return send('GET', `${base}?_id=${ids[type]}`);
      case 'update':
        return send('PUT', `${base}/${ids[type]}`, existing);
      case 'patch':
        return send('PATCH', `${base}/${ids[type]}`, [{ op: 'add', path: '/implicitRules', value: 'https://example.org/rules' }], {
          'content-type': 'application/json-patch+json',
        });
      case 'delete':
        return send('DELETE', `${base}/${ids[type]}`);
    }
  };

  test.each(PROBED_TYPES)('%s', async (type) => {
    const outcomes: Record<string, number> = {};
    const expected: Record<string, number> = {};
    for (const interaction of INTERACTIONS) {
      const answer = await request(type, interaction);
      outcomes[interaction] = answer.status;
      const offered = profile === 'full' || (allowed[type] ?? []).includes(interaction);
      const okStatus = interaction === 'create' ? 201 : 200;
      expected[interaction] = offered ? okStatus : allowed[type] ? 405 : 404;
      if (!offered) {
        expect(answer.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported' }] });
      }
    }
    expect(outcomes).toEqual(expected);
    if (profile !== 'full') {
      // Nothing refused left a trace: the seeded resource is still version 1, no second one was created.
      const stored = await target.search(type, { _id: ids[type] });
      const changes = ['update', 'patch'].filter((i) => allowed[type]?.includes(i)).length;
      expect(stored.map((r) => r.meta?.versionId)).toEqual([String(1 + changes)]);
      // The seeded one, plus the created one where create is offered.
      expect(await target.search(type)).toHaveLength(allowed[type]?.includes('create') ? 2 : 1);
    }
  });
});

describe('epic-like: refusals', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let patientRef: string;
  let docId: string;
  beforeAll(async () => {
    target = await startFhirTarget('epic-like', tmp.dir);
    const [patient, doc] = await target.seed([sample('Patient', 'MRN-1'), sample('DocumentReference', 'note-1')]);
    patientRef = `Patient/${patient.id}`;
    docId = doc.id as string;
  });
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  test('conditional create (If-None-Exist) is refused with 400 and creates nothing', async () => {
    const r = await send('POST', `${target.url}/DocumentReference`, sample('DocumentReference', 'note-2', patientRef), {
      'if-none-exist': `identifier=${SYS}|note-2`,
    });
    expect(r.status).toBe(400);
    expect(r.body.issue[0]).toMatchObject({ code: 'not-supported', details: { text: expect.stringContaining('If-None-Exist') } });
    expect(await target.countByIdentifier('DocumentReference', SYS, 'note-2')).toBe(0);
  });

  test('conditional update (PUT Type?identifier=) is refused with 400 even when it would match, and changes nothing', async () => {
    const r = await send('PUT', `${target.url}/DocumentReference?identifier=${encodeURIComponent(`${SYS}|note-1`)}`, {
      ...sample('DocumentReference', 'note-1', patientRef),
      status: 'superseded',
    });
    expect(r.status).toBe(400);
    const [doc] = await target.search('DocumentReference', { _id: docId });
    expect(doc).toMatchObject({ status: 'current', meta: { versionId: '1' } });
  });

  test('PUT of an unknown id is refused with 405 (no client-assigned ids) and creates nothing', async () => {
    const r = await send('PUT', `${target.url}/DocumentReference/my-own-id`, { ...sample('DocumentReference', 'note-3', patientRef), id: 'my-own-id' });
    expect(r.status).toBe(405);
    expect(r.allow).toBe('GET, HEAD, PUT');
    expect(await target.search('DocumentReference', { _id: 'my-own-id' })).toHaveLength(0);
  });

  test('batch and transaction Bundles are refused with 405 and an empty Allow, and write nothing', async () => {
    for (const type of ['batch', 'transaction']) {
      const r = await send('POST', target.url, {
        resourceType: 'Bundle',
        type,
        entry: [{ resource: sample('DocumentReference', `b-${type}`, patientRef), request: { method: 'POST', url: 'DocumentReference' } }],
      });
      expect(r.status).toBe(405);
      expect(r.allow).toBe('');
      expect(await target.countByIdentifier('DocumentReference', SYS, `b-${type}`)).toBe(0);
    }
  });

  test('405 answers name the methods the URL does accept', async () => {
    expect((await send('POST', `${target.url}/RelatedPerson`, sample('RelatedPerson', 'rp', patientRef))).allow).toBe('GET, HEAD');
    expect((await send('DELETE', `${target.url}/DocumentReference/${docId}`)).allow).toBe('GET, HEAD, PUT');
  });

  test('DocumentReference is searchable by identifier (Epic offers it); reads and searches work', async () => {
    expect(await target.countByIdentifier('DocumentReference', SYS, 'note-1')).toBe(1);
    const r = await send('GET', `${target.url}/DocumentReference?identifier=${encodeURIComponent(`${SYS}|note-1`)}`);
    expect(r.status).toBe(200);
    expect(r.body.entry.map((e: any) => e.resource.id)).toEqual([docId]);
    expect((await send('GET', `${target.url}/${patientRef}`)).status).toBe(200);
  });
});

describe('oracle-like: refusals', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  let patientRef: string;
  let doc: Resource;
  let rp: Resource;
  let enc: Resource;
  beforeAll(async () => {
    target = await startFhirTarget('oracle-like', tmp.dir);
    const [patient] = await target.seed([sample('Patient', 'MRN-1')]);
    patientRef = `Patient/${patient.id}`;
    [doc, rp, enc] = await target.seed([
      sample('DocumentReference', 'note-1', patientRef),
      sample('RelatedPerson', 'rp-1', patientRef),
      sample('Encounter', 'enc-1', patientRef),
    ]);
  });
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  test('DocumentReference cannot be searched by identifier (400, the parameter named, not its value); by patient and type it can', async () => {
    const byId = await send('GET', `${target.url}/DocumentReference?identifier=${encodeURIComponent(`${SYS}|note-1`)}`);
    expect(byId.status).toBe(400);
    expect(byId.body.issue[0].code).toBe('not-supported');
    expect(byId.body.issue[0].details.text).toContain('identifier');
    expect(byId.body.issue[0].details.text).not.toContain('note-1');
    const form = await fetch(`${target.url}/DocumentReference/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ identifier: `${SYS}|note-1` }),
    });
    expect(form.status).toBe(400);
    const ok = await send('GET', `${target.url}/DocumentReference?patient=${patientRef}&type=http://loinc.org|34904-3&_count=5`);
    expect(ok.status).toBe(200);
    expect(ok.body.entry.map((e: any) => e.resource.id)).toEqual([doc.id]);
  });

  test('RelatedPerson search is limited to _id, identifier and patient', async () => {
    expect((await send('GET', `${target.url}/RelatedPerson?name=Test`)).status).toBe(400);
    expect((await send('GET', `${target.url}/RelatedPerson?patient=${patientRef}`)).status).toBe(200);
  });

  test('a transaction Bundle is refused with 400 (batch is offered) and writes nothing', async () => {
    const r = await send('POST', target.url, {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: sample('Encounter', 'tx-enc', patientRef), request: { method: 'POST', url: 'Encounter' } }],
    });
    expect(r.status).toBe(400);
    expect(r.body.issue[0].details.text).toContain('batch');
    expect(await target.countByIdentifier('Encounter', SYS, 'tx-enc')).toBe(0);
  });

  test('conditional create is refused with 400', async () => {
    const r = await send('POST', `${target.url}/Encounter`, sample('Encounter', 'cc-enc', patientRef), { 'if-none-exist': `identifier=${SYS}|cc-enc` });
    expect(r.status).toBe(400);
    expect(await target.countByIdentifier('Encounter', SYS, 'cc-enc')).toBe(0);
  });

  test('a batch runs entry by entry: allowed entries apply, refused ones answer their own status and write nothing', async () => {
    const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/implicitRules', value: 'https://example.org/rules' }])).toString('base64');
    const entries = [
      { resource: sample('RelatedPerson', 'rp-new', patientRef), request: { method: 'POST', url: 'RelatedPerson' } },
      { resource: { ...rp, active: false }, request: { method: 'PUT', url: `RelatedPerson/${rp.id}` } },
      { resource: sample('Encounter', 'enc-cc', patientRef), request: { method: 'POST', url: 'Encounter', ifNoneExist: `identifier=${SYS}|enc-cc` } },
      // Would match doc: medplum would rewrite it to PUT DocumentReference/<id> before any later check.
      { resource: { ...sample('DocumentReference', 'note-1', patientRef), status: 'superseded' }, request: { method: 'PUT', url: `DocumentReference?_id=${doc.id}` } },
      { resource: sample('Consent', 'consent-1', patientRef), request: { method: 'POST', url: 'Consent' } },
      { resource: sample('Organization', 'org-1'), request: { method: 'POST', url: 'Organization' } },
      { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch }, request: { method: 'PATCH', url: `Encounter/${enc.id}` } },
      { request: { method: 'GET', url: `DocumentReference?identifier=${SYS}|note-1` } },
    ];
    const r = await send('POST', target.url, { resourceType: 'Bundle', type: 'batch', entry: entries });
    expect(r.status).toBe(200);
    expect(r.body.type).toBe('batch-response');
    expect(r.body.entry.map((e: any) => e.response.status)).toEqual([
      '201 Created',
      '405 Method Not Allowed',
      '400 Bad Request',
      '400 Bad Request',
      '405 Method Not Allowed',
      '404 Not Found',
      '200 OK',
      '400 Bad Request',
    ]);
    for (const i of [1, 2, 3, 4, 5, 7]) {
      expect(r.body.entry[i].response.outcome.issue[0].code).toBe('not-supported');
    }
    expect(await target.countByIdentifier('RelatedPerson', SYS, 'rp-new')).toBe(1);
    expect((await target.search('RelatedPerson', { _id: rp.id as string }))[0]).toMatchObject({ meta: { versionId: '1' } });
    expect(await target.countByIdentifier('Encounter', SYS, 'enc-cc')).toBe(0);
    expect((await target.search('DocumentReference', { _id: doc.id as string }))[0]).toMatchObject({ status: 'current', meta: { versionId: '1' } });
    expect(await target.countByIdentifier('Consent', SYS, 'consent-1')).toBe(0);
    expect(await target.countByIdentifier('Organization', SYS, 'org-1')).toBe(0);
    expect((await target.search('Encounter', { _id: enc.id as string }))[0]).toMatchObject({ implicitRules: 'https://example.org/rules', meta: { versionId: '2' } });
  });
});

describe('full: the standalone server is the embedded server as it always was', () => {
  const tmp = tempDir();
  let target: FhirTarget;
  beforeAll(async () => {
    target = await startFhirTarget('full', tmp.dir);
  });
  afterAll(async () => {
    await target.close();
    tmp.cleanup();
  });

  test('transaction, batch and conditional create are offered and work; adminUrl is url', async () => {
    const cs: CapabilityStatement = (await send('GET', `${target.url}/metadata`)).body;
    expect((cs.rest?.[0].interaction ?? []).map((i) => i.code)).toEqual(expect.arrayContaining(['transaction', 'batch']));
    expect(cs.rest?.[0].resource?.find((r) => r.type === 'DocumentReference')).toMatchObject({ conditionalCreate: true, conditionalUpdate: true });
    const headers = { 'if-none-exist': `identifier=${SYS}|MRN-9` };
    const first = await send('POST', `${target.url}/Patient`, sample('Patient', 'MRN-9'), headers);
    const second = await send('POST', `${target.url}/Patient`, sample('Patient', 'MRN-9'), headers);
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body.id).toBe(first.body.id);
    expect(target.adminUrl).toBe(target.url);
  });
});

describe('standalone server options', () => {
  test('with a token, every request (admin side and /metadata included) needs exactly that bearer token', async () => {
    const tmp = tempDir();
    const target = await startFhirTarget('epic-like', tmp.dir, { token: 'target-token-0123456789' });
    try {
      for (const url of [`${target.url}/metadata`, `${target.adminUrl}/Patient`]) {
        const none = await send('GET', url);
        expect(none.status).toBe(401);
        expect(none.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
        expect((await send('GET', url, undefined, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
        expect((await send('GET', url, undefined, { authorization: 'Bearer target-token-0123456789' })).status).toBe(200);
      }
      // The helpers carry the token.
      expect(await target.seed([sample('Patient', 'MRN-T')])).toHaveLength(1);
    } finally {
      await target.close();
      tmp.cleanup();
    }
  });

  test('a refusal is logged with status, method and type, never the query or its values', async () => {
    const tmp = tempDir();
    const lines: string[] = [];
    const logger = { warn: (m: string, meta?: object) => lines.push(`${m} ${JSON.stringify(meta)}`), error: () => undefined };
    const server = await startStandaloneFhirServer({ profile: 'oracle-like', dataDir: tmp.dir, logger });
    try {
      const r = await send('GET', `${server.url}/DocumentReference?identifier=${SYS}|SECRET-MRN-4711`);
      expect(r.status).toBe(400);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('"profile":"oracle-like"');
      expect(lines[0]).toContain('"resourceType":"DocumentReference"');
      expect(lines[0]).not.toContain('SECRET');
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });
});

describe('EMBEDDED_FHIR_PROFILE: the /fhir of the service', () => {
  test('defaults to full; an unknown name, or a profile together with FHIR_BASE_URL, stops the start', () => {
    expect(loadConfig({}).embeddedFhirProfile).toBe('full');
    expect(loadConfig({ EMBEDDED_FHIR_PROFILE: 'oracle-like' }).embeddedFhirProfile).toBe('oracle-like');
    expect(() => loadConfig({ EMBEDDED_FHIR_PROFILE: 'cerner' })).toThrow(/EMBEDDED_FHIR_PROFILE must be one of full, epic-like, oracle-like/);
    expect(() => loadConfig({ EMBEDDED_FHIR_PROFILE: 'epic-like', FHIR_BASE_URL: 'https://ehr.example.org/fhir' })).toThrow(
      /EMBEDDED_FHIR_PROFILE applies to the embedded FHIR server only/
    );
  });

  test('epic-like restricts /fhir and /fhir/_admin serves the same data unrestricted', async () => {
    const tmp = tempDir();
    const svc = await startTestService(tmp.dir, { EMBEDDED_FHIR_PROFILE: 'epic-like' });
    try {
      const cs = await svc.api('GET', '/fhir/metadata');
      expect(interactionsOf(cs.body)).toEqual(EXPECTED['epic-like'].types);
      const fhirJson = { 'content-type': FHIR };
      expect((await svc.api('POST', '/fhir/Patient', sample('Patient', 'MRN-S'), fhirJson)).status).toBe(405);
      const created = await svc.api('POST', '/fhir/_admin/Patient', sample('Patient', 'MRN-S'), fhirJson);
      expect(created.status).toBe(201);
      const read = await svc.api('GET', `/fhir/Patient/${created.body.id}`);
      expect(read.status).toBe(200);
      expect((await fetch(`${svc.url}/fhir/_admin/Patient`)).status).toBe(401);
    } finally {
      await svc.close();
      tmp.cleanup();
    }
  });
});
