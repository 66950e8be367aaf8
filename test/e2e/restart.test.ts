/**
 * Stop and start again on the same data directory: everything is still there (records, states and the
 * FHIR resources) and nothing is synced twice.
 */
import { NS, records, seedBundle } from '../helpers/fixtures.js';
import { startTestService, type TestService, waitForState } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

async function snapshot(svc: TestService): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [type, system, value] of [
    ['RelatedPerson', `${NS}/sid/collateral-contact`, 'p-001:MRN-1001'],
    ['Consent', `${NS}/sid/roi`, 'c-001'],
    ['Encounter', `${NS}/sid/session`, 's-001'],
    ['DocumentReference', `${NS}/sid/note`, 'n-001'],
  ]) {
    const r = await svc.api('GET', `/fhir/${type}?identifier=${encodeURIComponent(`${system}|${value}`)}`);
    expect(r.body.entry).toHaveLength(1);
    const res = r.body.entry[0].resource;
    out[type] = `${res.id}/_history/${res.meta.versionId}`;
  }
  return out;
}

test('after a restart everything is still there and nothing is synced twice', async () => {
  const tmp = tempDir();
  // No API_TOKENS: the token is generated at first start and must survive the restart.
  let svc = await startTestService(tmp.dir, { API_TOKENS: '' });
  try {
    await svc.api('POST', '/fhir', seedBundle, { 'content-type': 'application/fhir+json' });
    await svc.api('PUT', '/api/v1/participants/p-001', records.participant);
    await svc.api('PUT', '/api/v1/consents/c-001', records.consent);
    await svc.api('PUT', '/api/v1/sessions/s-001', records.session);
    await svc.api('PUT', '/api/v1/notes/n-001', records.note);
    await waitForState(svc, 'notes', 'n-001');
    await waitForState(svc, 'consents', 'c-001');
    const before = await snapshot(svc);
    const token = svc.apiTokens[0];
    await svc.close();

    svc = await startTestService(tmp.dir, { API_TOKENS: '' });
    expect(svc.apiTokens[0]).toBe(token);
    for (const [c, id] of [['participants', 'p-001'], ['consents', 'c-001'], ['sessions', 's-001'], ['notes', 'n-001']]) {
      const r = await svc.api('GET', `/api/v1/${c}/${id}`);
      expect(r.body).toMatchObject({ id, version: 1, sync: [expect.objectContaining({ state: 'synced' })] });
    }
    expect(await svc.store.status.outboxSize()).toBe(0);
    // Resending everything after the restart is recognised as unchanged.
    const again = await svc.api('PUT', '/api/v1/sessions/s-001', records.session);
    expect(again.body.status).toBe('unchanged');
    await new Promise((r) => setTimeout(r, 300)); // a few worker polls
    expect(await snapshot(svc)).toEqual(before);
  } finally {
    await svc.close();
    tmp.cleanup();
  }
});
