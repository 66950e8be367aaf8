/**
 * The bounded fuzz run of CI (issue #10 item 8): 2,000 generated requests with a fixed seed over the
 * record routes, the import, `$map` and `/fhir` (bench/fuzz-model.ts), against the real service. Never
 * a 5xx, never a crash, never an error quoting JavaScript or a value of the request. For 100,000 cases:
 * `npm run fuzz` (figures in docs/security.md).
 */
import fc from 'fast-check';
import { checkAnswer, fuzzRequest, send } from '../../bench/fuzz-model.js';
import { startSecuredService, type SecuredService } from './helpers.js';

const SEED = 20260601;
const RUNS = 2000;

describe('fuzz', () => {
  let s: SecuredService;
  beforeAll(async () => {
    s = await startSecuredService({ AUTH_FAILURE_LIMIT: '100000', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await s.close();
  });

  test(`${RUNS} seeded cases: no 5xx, no internals, no echo`, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fuzzRequest, async (req) => {
        const r = await send(s.svc.url, s.tokens, req);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        expect(checkAnswer(req, r.status, r.contentType, r.text)).toEqual([]);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true }
    );
    // The run reached past the guards: some requests were accepted, some refused for their content.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(50);
    expect((await fetch(`${s.svc.url}/healthz`)).status).toBe(200);
  }, 300_000);
});
