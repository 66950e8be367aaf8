/**
 * The operator runs the sync without seeing who it is about: client MRNs in the delivery lists are
 * masked for a caller whose only granting role is `operator` (also inside hold reasons), and shown to
 * admin.
 */
import { maskMrn, maskPhi } from '../../src/http/middleware/phi-mask.js';
import { seedBundle } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/service.js';
import { putExampleSession, startSecuredService } from './helpers.js';

test('MRNs are masked as *** and their last two characters, everywhere in the answer', () => {
  expect(maskMrn('MRN-1001')).toBe('***01');
  expect(maskMrn('A1')).toBe('***');
  expect(maskPhi({ review: [{ clientMrn: 'MRN-1001', reason: 'no Patient with MRN MRN-1001 on the target' }], mrn: 'X-77' })).toEqual({
    review: [{ clientMrn: '***01', reason: 'no Patient with MRN ***01 on the target' }],
    mrn: '***',
  });
});

test('the review list: masked for operator, clear for admin', async () => {
  const s = await startSecuredService({ SYNC_ENABLED: 'true' });
  try {
    // The therapist is on the target, the client's Patient is not: held for review (patient-not-found).
    const practitionerOnly = { ...seedBundle, entry: seedBundle.entry!.slice(1) };
    expect((await s.call('admin', 'POST', '/fhir', JSON.stringify(practitionerOnly), { 'content-type': 'application/fhir+json' })).status).toBe(200);
    await putExampleSession(s);
    const admin = await waitFor(async () => {
      const r = await s.call('admin', 'GET', '/api/v1/sync/review');
      return r.body?.count > 0 ? r.body : undefined;
    }, 20_000, 'the review list');
    expect(JSON.stringify(admin)).toContain('MRN-1001');
    const op = await s.call('operator', 'GET', '/api/v1/sync/review');
    expect(op.status).toBe(200);
    expect(op.body.review[0].clientMrn).toBe('***01');
    expect(op.text).not.toContain('MRN-1001');
    expect(op.body.review.map((r: any) => r.recordId)).toContain('p-001');
  } finally {
    await s.close();
  }
});
