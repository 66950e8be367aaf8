/**
 * Identified analytics output in the accounting of disclosures (issue #11): on the real service with
 * the demo dataset, every identified view run or export over the service's data adds one entry per
 * client whose data the output contained to that client's accounting (GET
 * /api/v1/clients/{mrn}/disclosures, and the FHIR Bundle of AuditEvents), naming the credential, the
 * view or types and the export job; de-identified output and inline runs add none; a `patient`
 * restriction or `_limit` accounts only the clients actually in the output; MRNs never reach the logs.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { parameters, runView, startDemoService } from './helpers.js';

const identified = { name: 'deidentify', valueBoolean: false };
const MRN_SYSTEM = 'https://fhir.example-hospital.org/sid/mrn';
const ASYNC = { prefer: 'respond-async', accept: 'application/fhir+json', 'content-type': 'application/fhir+json' };

describe('identified analytics output in the accounting of disclosures', () => {
  const tmp = tempDir();
  let svc: TestService;
  /** Patient id -> MRN, from the FHIR store. */
  const mrnOf = new Map<string, string>();
  const mrns: string[] = [];

  /** The client's accounting, split by channel. */
  const accounting = async (mrn: string): Promise<{ sync: any[]; analytics: any[] }> => {
    const r = await svc.api('GET', `/api/v1/clients/${mrn}/disclosures`);
    expect(r.status).toBe(200);
    const items = r.body.disclosures as any[];
    return { sync: items.filter((d) => d.channel === 'sync'), analytics: items.filter((d) => d.channel === 'identified-analytics') };
  };
  const auditCount = (): number => {
    const db = new Database(join(tmp.dir, 'collateral.sqlite'), { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  /** The clients (MRNs) of the resources of a type, read plainly from the FHIR store. */
  const clientsOf = async (type: string, ref: (r: any) => string | undefined): Promise<string[]> => {
    const r = await svc.api('GET', `/fhir/${type}?_count=1000`);
    const ids = (r.body.entry ?? []).map((e: any) => /^Patient\/(.+)$/.exec(ref(e.resource) ?? '')?.[1]);
    return [...new Set(ids.map((id: string) => mrnOf.get(id)).filter(Boolean) as string[])].sort();
  };
  /** The analytics entries added by `fn`, per client MRN. */
  const added = async (fn: () => Promise<void>): Promise<Record<string, any[]>> => {
    const before = Object.fromEntries(await Promise.all(mrns.map(async (m) => [m, (await accounting(m)).analytics.length] as const)));
    await fn();
    const out: Record<string, any[]> = {};
    for (const m of mrns) {
      const now = (await accounting(m)).analytics;
      if (now.length > before[m]) {
        out[m] = now.slice(before[m]);
      }
    }
    return out;
  };

  /** An export kick-off; waits until its status stops answering 202 and returns its job id. */
  const exportJob = async (method: string, path: string, body?: unknown): Promise<string> => {
    const res = await fetch(`${svc.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${svc.apiTokens[0]}`, ...ASYNC },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    const status = new URL(res.headers.get('content-location') as string).pathname;
    await waitFor(async () => (await svc.api('GET', status)).status !== 202, 60_000, 'the export to complete');
    expect((await svc.api('GET', status)).status).toBe(200);
    return status.split('/').pop() as string;
  };

  beforeAll(async () => {
    svc = await startDemoService(tmp.dir);
    const patients = await svc.api('GET', '/fhir/Patient?_count=1000');
    for (const e of patients.body.entry as any[]) {
      const mrn = e.resource.identifier.find((i: any) => i.system === MRN_SYSTEM).value;
      mrnOf.set(e.resource.id, mrn);
      mrns.push(mrn);
    }
    expect(mrns.length).toBeGreaterThan(1);
  }, 180_000);
  afterAll(async () => {
    await svc?.close();
    tmp.cleanup();
  });

  test('de-identified runs and identified inline runs (the caller’s own data) are no disclosure: nothing is recorded', async () => {
    const before = auditCount();
    for (const view of ['ViewDefinition/consents', 'ViewDefinition/collateral_sessions']) {
      expect((await runView(svc, parameters({ view, format: 'json' }))).status).toBe(200);
    }
    const inline = await runView(
      svc,
      parameters({
        view: 'ViewDefinition/consents',
        format: 'json',
        resources: [{ resourceType: 'Consent', id: 'x', status: 'active', patient: { reference: 'Patient/p1' } }],
        extra: [identified],
      })
    );
    expect(inline.status).toBe(200);
    expect(inline.body).toHaveLength(1);
    expect(auditCount()).toBe(before);
  });

  test('an identified run over the store: one entry per client of its rows, in each client’s accounting, naming the credential and the view', async () => {
    const want = await clientsOf('Encounter', (e) => e.subject?.reference);
    expect(want.length).toBeGreaterThan(1);
    let rows = 0;
    const byClient = await added(async () => {
      const r = await runView(svc, parameters({ view: 'ViewDefinition/collateral_sessions', format: 'csv', extra: [identified] }));
      expect(r.status).toBe(200);
      rows = r.text.trim().split('\n').length - 1;
    });
    expect(rows).toBeGreaterThan(want.length); // several sessions per client, still one entry each
    expect(Object.keys(byClient).sort()).toStrictEqual(want);
    for (const mrn of want) {
      expect(byClient[mrn]).toStrictEqual([
        {
          channel: 'identified-analytics',
          when: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          resources: [],
          target: { name: 'local-admin' },
          basis: 'privileged-role',
          consentIds: [],
          analytics: { what: 'identified $viewdefinition-run of view collateral_sessions (Encounter)' },
          auditEventId: expect.any(String),
        },
      ]);
    }
    // The sync's disclosures are still there, unchanged in shape.
    const { sync } = await accounting(want[0]);
    expect(sync.length).toBeGreaterThan(0);
    expect(sync[0]).toMatchObject({ channel: 'sync', record: { kind: expect.any(String) }, target: { name: expect.any(String) } });
  });

  test('the FHIR form of the accounting holds the AuditEvent: DCM Export, the client by MRN, the credential as recipient', async () => {
    const want = await clientsOf('Consent', (c) => c.patient?.reference);
    const byClient = await added(async () => {
      expect((await runView(svc, parameters({ view: 'ViewDefinition/consents', format: 'ndjson', extra: [identified] }))).status).toBe(200);
    });
    expect(Object.keys(byClient).sort()).toStrictEqual(want);
    const mrn = want[0];
    const bundle = await svc.api('GET', `/api/v1/clients/${mrn}/disclosures?_format=fhir`);
    const event = bundle.body.entry.map((e: any) => e.resource).find((a: any) => a.id === byClient[mrn][0].auditEventId);
    expect(event).toMatchObject({
      resourceType: 'AuditEvent',
      type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110106' },
      action: 'R',
      outcome: '0',
      agent: [
        { requestor: false, who: { display: 'collateral-fhir' } },
        { requestor: true, who: { display: 'local-admin' } },
      ],
    });
    expect(event.entity[0]).toMatchObject({ what: { identifier: { system: MRN_SYSTEM, value: mrn } }, role: { code: '1' } });
  });

  test('a run restricted to one patient, or cut by _limit, accounts only the clients in its output', async () => {
    const [patientId, mrn] = [...mrnOf].find(([, m]) => m === 'MRN-1001') as [string, string];
    const one = await added(async () => {
      const r = await runView(
        svc,
        parameters({ view: 'ViewDefinition/collateral_sessions', format: 'json', extra: [identified, { name: 'patient', valueReference: { reference: `Patient/${patientId}` } }] })
      );
      expect(r.body.length).toBeGreaterThan(0);
    });
    expect(Object.keys(one)).toStrictEqual([mrn]);
    const limited = await added(async () => {
      const r = await runView(svc, parameters({ view: 'ViewDefinition/collateral_sessions', format: 'json', extra: [identified, { name: '_limit', valueInteger: 1 }] }));
      expect(r.body).toHaveLength(1);
    });
    expect(Object.values(limited).flat()).toHaveLength(1);
  });

  test('an identified run of the disclosures view (the AuditEvents name clients by MRN) is accounted too', async () => {
    const byClient = await added(async () => {
      const r = await runView(svc, parameters({ view: 'ViewDefinition/disclosures', format: 'json', extra: [identified] }));
      expect(r.status).toBe(200);
      expect(r.body.length).toBeGreaterThan(0);
    });
    expect(Object.keys(byClient).length).toBeGreaterThan(1);
    Object.values(byClient).forEach((items) => expect(items[0].analytics.what).toBe('identified $viewdefinition-run of view disclosures (AuditEvent)'));
  });

  test('an identified $export: one entry per client of its files, with the job id, recorded before the job completes; de-identified: none', async () => {
    const run = (query: string): Promise<string> => exportJob('GET', `/fhir/$export?${query}`);
    const before = auditCount();
    await run('_type=Consent');
    expect(auditCount()).toBe(before);
    const want = [...new Set([...(await clientsOf('Consent', (c) => c.patient?.reference)), ...(await clientsOf('RelatedPerson', (p) => p.patient?.reference))])].sort();
    let jobId = '';
    const byClient = await added(async () => {
      jobId = await run('_type=Consent,RelatedPerson&deidentify=false');
    });
    expect(Object.keys(byClient).sort()).toStrictEqual(want);
    for (const items of Object.values(byClient)) {
      expect(items).toStrictEqual([expect.objectContaining({ analytics: { what: 'identified $export (Consent, RelatedPerson)', jobId }, target: { name: 'local-admin' } })]);
    }
  });

  test('an identified $viewdefinition-export is accounted with its views', async () => {
    const want = await clientsOf('Consent', (c) => c.patient?.reference);
    const byClient = await added(async () => {
      await exportJob('POST', '/fhir/$viewdefinition-export', {
        resourceType: 'Parameters',
        parameter: [
          { name: 'view', part: [{ name: 'viewReference', valueReference: { reference: 'ViewDefinition/consents' } }] },
          { name: '_format', valueCode: 'csv' },
          identified,
        ],
      });
    });
    expect(Object.keys(byClient).sort()).toStrictEqual(want);
    Object.values(byClient).forEach((items) => expect(items[0].analytics.what).toBe('identified $viewdefinition-export of view consents (Consent)'));
  });

  test('no MRN in the logs', () => {
    for (const mrn of mrns) {
      expect(svc.logs()).not.toContain(mrn);
    }
  });
});
