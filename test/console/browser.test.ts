/**
 * The web console in a real browser (Debian's chromium through playwright-core) against the real
 * service on the embedded defaults: sign in, see a held record's reason, replay a dead letter and see
 * it synced, run the mapping playground and the remap dry run, read the disclosures, import, browse the
 * API reference, and check that an operator sees no names. Every page runs under the strict CSP; a
 * violation fails the test. Screenshots of each page: `npm run screenshots` writes docs/console/.
 */
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { startTestService, type TestService, waitFor } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { type Browser, buildConsole, openBrowser, screenshot } from './browser.js';
import { OPERATOR_TOKEN, seed, session, stateOf, storedPhi, testKeysEnv } from './seed.js';

jest.setTimeout(180_000);

describe('web console in a browser', () => {
  const tmp = tempDir();
  let svc: TestService;
  let b: Browser;
  let duplicateIds: string[];

  beforeAll(async () => {
    buildConsole();
    // Backoff as a real deployment would have it (not the tests' 50 ms), so held records are not retried
    // in a tight loop while the pages are looked at.
    svc = await startTestService(tmp.dir, { SYNC_MAX_ATTEMPTS: '2', SYNC_MIN_BACKOFF_MS: '2000', SYNC_MAX_BACKOFF_MS: '60000', ...testKeysEnv() });
    ({ duplicateIds } = await seed(svc));
    // The example dataset too, so the pages show a realistic mix (some of it is held on purpose).
    const ndjson = readFileSync(join(projectRoot(), 'examples', 'records.ndjson'), 'utf8');
    const imported = await svc.api('POST', '/api/v1/import', ndjson, { 'content-type': 'application/x-ndjson' });
    expect(imported.body.rejected).toBe(0);
    // A second version of a session, so its page has a diff between sent versions.
    await svc.api('PUT', '/api/v1/sessions/s-tour', { ...session, end: '2026-02-01T17:05:00-05:00' });
    await waitFor(async () => (await svc.api('GET', '/api/v1/records?kind=session&id=s-tour')).body.records[0]?.recordVersion === 2 && (await stateOf(svc, 'session', 's-tour')) === 'synced', 90_000, 's-tour v2 to be synced');
    await waitFor(async () => (await svc.api('GET', '/api/v1/sync/status')).body.delivery.embedded.queued <= 12, 120_000, 'the example dataset to be sent');
    b = await openBrowser();
  }, 400_000);
  afterAll(async () => {
    await b?.close();
    await svc?.close();
    tmp.cleanup();
  });

  test('the console is served at /console/ (and / leads there) under a strict Content Security Policy', async () => {
    const root = await fetch(`${svc.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const page = await fetch(`${svc.url}/console/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/<script>|<style|style=/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  test('sign in with an API token (kept in sessionStorage, never in the URL)', async () => {
    const { page } = b;
    await page.goto(`${svc.url}/console/`);
    await page.getByTestId('token').waitFor();
    await screenshot(page, 'sign-in');
    await page.getByTestId('token').fill('wrong-token-0000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This token is not valid for this service.').waitFor();
    await page.getByTestId('token').fill(svc.apiTokens[0]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('stat-queued').waitFor();
    expect(page.url()).not.toContain(svc.apiTokens[0]);
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('collateral-fhir.token'))).toBe(svc.apiTokens[0]);
    expect(await page.getByTestId('who').innerText()).toContain('local-admin');
    await page.getByTestId('stat-synced-hour').filter({ hasNotText: '…' }).waitFor();
    await page.getByTestId('target-embedded').getByText('FHIR 4.0.1').waitFor();
    await screenshot(page, 'overview');
  });

  test("a held record's reason: in the listing and on the record's page, with the consent decision", async () => {
    const { page } = b;
    await page.goto(`${svc.url}/console/#/records?state=held`);
    const row = page.locator('tr[data-record="session/s-held"]');
    await row.waitFor();
    expect(await row.getByTestId('reason').innerText()).toContain('no consent covers p-teacher');
    await screenshot(page, 'records');
    await row.getByRole('link', { name: /s-held/ }).click();
    await page.getByTestId('state-reason').first().waitFor();
    expect(await page.getByTestId('state-reason').first().innerText()).toContain('no consent covers p-teacher on 2026-02-08');
    expect(await page.getByTestId('consent-decision').innerText()).toMatch(/hold[\s\S]*p-teacher/);
    await screenshot(page, 'record-held');

    await page.goto(`${svc.url}/console/#/records/session/s-tour?tab=sent`);
    const sent = page.getByTestId('sent-resource').filter({ hasText: 'Encounter/' });
    await sent.getByText('/period/end').waitFor();
    await screenshot(page, 'record-sent-diff');
  });

  test('replay a dead letter and see it synced', async () => {
    const { page } = b;
    await page.goto(`${svc.url}/console/#/dead-letters`);
    const row = page.locator('tr[data-record="participant/p-dup"]');
    await row.waitFor();
    await screenshot(page, 'dead-letters');
    // The cause, fixed in the EHR: the duplicate someone made there is removed.
    const del = await svc.api('DELETE', `/fhir/RelatedPerson/${duplicateIds[1]}`);
    expect(del.status).toBeLessThan(300);
    await page.getByTestId('replay-participant-p-dup').click();
    const outcome = page.locator('[data-testid="outcome-participant-p-dup"][data-settled="true"]');
    await outcome.waitFor({ timeout: 30_000 });
    expect(await outcome.innerText()).toContain('synced');
    expect(await stateOf(svc, 'participant', 'p-dup')).toBe('synced');
    await screenshot(page, 'dead-letter-replayed');

    await page.goto(`${svc.url}/console/#/dead-letters?tab=review`);
    await page.locator('tr[data-record="participant/p-nowhere"]').waitFor();
    expect(await page.locator('tr[data-record="participant/p-nowhere"]').innerText()).toContain('patient-not-found');
    await screenshot(page, 'review');
  });

  test('the mapping playground maps as you type and shows profile issues; the remap dry run reports', async () => {
    const { page } = b;
    await page.goto(`${svc.url}/console/#/playground`);
    await page.getByRole('button', { name: 'participant', exact: true }).click();
    const output = page.getByTestId('map-output');
    await output.getByText('RelatedPerson').first().waitFor();
    expect(await output.innerText()).toContain('valid');
    const input = page.getByTestId('map-input');
    const text = await input.inputValue();
    await input.fill(text.replace('"relationship": "mother"', '"relationship": "aunt"'));
    const rejected = page.getByTestId('map-rejected');
    await rejected.waitFor();
    expect(await rejected.innerText()).toContain('/relationship');
    await input.fill(text);
    await output.getByText('RelatedPerson').first().waitFor();
    await screenshot(page, 'playground');

    await page.getByTestId('remap-form').getByRole('button', { name: 'Run dry run' }).click();
    const report = page.getByTestId('remap-report');
    await report.waitFor({ timeout: 30_000 });
    expect(await report.innerText()).toMatch(/would change[\s\S]*participant p-nowhere → RelatedPerson/);
    await screenshot(page, 'remap', page.locator('section.card').filter({ has: report }));
  });

  test('the privacy officer reads the accounting of disclosures of a client', async () => {
    const { page } = b;
    await page.goto(`${svc.url}/console/#/privacy`);
    await page.getByPlaceholder('MRN-1001').fill('MRN-1001');
    await page.getByRole('button', { name: 'Show disclosures' }).click();
    const table = page.getByTestId('disclosures');
    await table.waitFor();
    // The mother's RelatedPerson may be disclosed in one Bundle with her consent (records share Bundles).
    const disclosed = await table.innerText();
    expect(disclosed).toMatch(/RelatedPerson\/[0-9a-f-]+\/_history\/1/);
    expect(disclosed).toMatch(/SESSION s-tour[\s\S]*consent c-tour/);
    expect(page.url()).not.toContain('MRN-1001');
    await screenshot(page, 'privacy');
  });

  test('an identified analytics read is in the client\'s accounting too, as what was read (no record link)', async () => {
    const { page } = b;
    const found = await svc.api('GET', `/fhir/Patient?identifier=${encodeURIComponent('https://fhir.example-hospital.org/sid/mrn|MRN-1001')}`);
    const patient = found.body.entry[0].resource.id as string;
    const run = await svc.api(
      'POST',
      '/fhir/$viewdefinition-run',
      JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: 'viewReference', valueReference: { reference: 'ViewDefinition/consents' } },
          { name: '_format', valueCode: 'json' },
          { name: 'deidentify', valueBoolean: false },
          { name: 'patient', valueReference: { reference: `Patient/${patient}` } },
        ],
      }),
      { 'content-type': 'application/fhir+json' }
    );
    expect(run.status).toBe(200);
    expect(run.body.length).toBeGreaterThan(0);
    await page.goto(`${svc.url}/console/#/privacy`);
    await page.getByPlaceholder('MRN-1001').fill('MRN-1001');
    await page.getByRole('button', { name: 'Show disclosures' }).click();
    const row = page.getByTestId('disclosures').locator('tr', { hasText: 'identified $viewdefinition-run of view consents (Consent)' });
    await row.waitFor();
    expect(await row.innerText()).toMatch(/privileged-role/);
    expect(await row.locator('a').count()).toBe(0);
  });

  test('an import runs as a job: listed with its state and counts, its rejected lines shown with why', async () => {
    const { page } = b;
    await page.goto(`${svc.url}/console/#/imports`);
    const lines = [
      JSON.stringify({ kind: 'participant', record: { id: 'p-imported', client: { mrn: 'MRN-1001' }, relationship: 'coach' } }),
      JSON.stringify({ kind: 'participant', record: { id: 'p-broken', client: {}, relationship: 'coach' } }),
    ].join('\n');
    await page.getByTestId('import-text').fill(lines);
    await page.getByRole('button', { name: 'Import' }).click();
    const job = page.locator('[data-testid="import-job"][data-state="completed"]').first();
    await job.waitFor();
    expect(await job.getByTestId('import-counts').innerText()).toContain('2 lines read · 1 accepted · 0 unchanged · 1 rejected');
    await job.getByRole('button', { name: 'Rejected lines' }).click();
    const rejected = job.getByTestId('import-rejected');
    await rejected.waitFor();
    expect(await rejected.innerText()).toMatch(/^2\b[\s\S]*\/record\/client\/mrn[\s\S]*is required/m);
    // The job is the service's: the API lists it too, with the same counts.
    const listed = (await svc.api('GET', '/api/v1/import')).body.jobs[0];
    expect(listed).toMatchObject({ state: 'completed', linesRead: 2, accepted: 1, rejected: 1 });
    await screenshot(page, 'imports');
  });

  test('the API reference is browsable from the OpenAPI description', async () => {
    const { page } = b;
    await page.goto(`${svc.url}/console/#/api`);
    const op = page.getByTestId('op-listRecords');
    await op.waitFor();
    await op.locator('summary').first().click();
    await op.getByText('X-Client-MRN', { exact: true }).waitFor();
    await screenshot(page, 'api-reference', page.locator('section.api-tag').first());
  });

  test('an operator sees the pages of that role and no names, MRNs, contact details or note text', async () => {
    const { page } = b;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('token').fill(OPERATOR_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').getByText('ops-desk').waitFor();
    await page.goto(`${svc.url}/console/#/overview`);
    await page.getByTestId('stat-queued').waitFor();
    const nav = await page.locator('nav.nav').innerText();
    expect(nav).toContain('Dead letters');
    expect(nav).not.toContain('Privacy');
    expect(nav).not.toContain('Mapping playground');

    const phi = await storedPhi(svc);
    expect(phi.length).toBeGreaterThan(20);
    const visibleText = async (): Promise<string> => page.evaluate(() => (globalThis as any).document.body.innerText as string);
    const leaks = (text: string): string[] => phi.filter((v) => text.includes(v));

    await page.goto(`${svc.url}/console/#/records?limit=500`);
    await page.getByTestId('record-rows').waitFor();
    await page.getByTestId('masked-note').waitFor();
    expect(leaks(await visibleText())).toEqual([]);

    for (const [kind, id, tab] of [
      ['participant', 'p-tour-mother', 'source'],
      ['participant', 'p-tour-mother', 'mapped'],
      ['participant', 'p-tour-mother', 'sent'],
      ['note', 'n-tour', 'source'],
      ['note', 'n-tour', 'mapped'],
      ['session', 's-tour', 'sent'],
    ]) {
      await page.goto(`${svc.url}/console/#/records/${kind}/${id}?tab=${tab}`);
      await page.getByTestId('masked-note').waitFor();
      // Open every collapsed JSON view, so hidden text counts too.
      await page.evaluate(() => (globalThis as any).document.querySelectorAll('details').forEach((d: any) => d.setAttribute('open', '')));
      expect({ page: `${kind}/${id}/${tab}`, leaked: leaks(await visibleText()) }).toEqual({ page: `${kind}/${id}/${tab}`, leaked: [] });
      if (kind === 'participant' && tab === 'source') {
        await screenshot(page, 'operator-record');
      }
    }
    await page.goto(`${svc.url}/console/#/dead-letters?tab=review`);
    await page.locator('tr[data-record="participant/p-nowhere"]').waitFor();
    expect(leaks(await visibleText())).toEqual([]);

    // Import jobs: the operator follows their progress; starting, cancelling and per-line results are the source's.
    await page.goto(`${svc.url}/console/#/imports`);
    const job = page.getByTestId('import-job').first();
    await job.waitFor();
    expect(await job.getByTestId('import-counts').innerText()).toContain('1 rejected');
    expect(await page.getByText('New import').count()).toBe(0);
    expect(await job.getByRole('button').count()).toBe(0);
    expect(leaks(await visibleText())).toEqual([]);
  });

  test('no page broke the Content Security Policy or threw', () => {
    expect(b.problems).toEqual([]);
  });
});
