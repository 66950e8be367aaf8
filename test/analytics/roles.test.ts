/**
 * Who may run views (src/auth/principal.ts roles): analysts get de-identified output only; identified
 * output (deidentify=false) needs privacy-officer or admin; other roles may not run views at all.
 * Every HTTP token is the local admin until named credentials land, so this runs the operation's
 * core directly with each kind of principal.
 */
import type { Principal, Role } from '../../src/auth/principal.js';
import { parseRunParameters } from '../../src/analytics/run/parameters.js';
import { startViewRun } from '../../src/analytics/run/run.js';
import { loadViews } from '../../src/analytics/views.js';
import { OperationOutcomeError } from '../../src/outcomes.js';

const view = { resourceType: 'ViewDefinition', resource: 'Patient', select: [{ column: [{ name: 'id', path: 'id', type: 'id' }] }] };
const as = (...roles: Role[]): Principal => ({ name: `test-${roles.join('-')}`, roles });

async function attempt(principal: Principal, deidentify: boolean): Promise<number> {
  const params = parseRunParameters(
    {
      resourceType: 'Parameters',
      parameter: [
        { name: 'viewResource', resource: view },
        { name: '_format', valueCode: 'json' },
        { name: 'deidentify', valueBoolean: deidentify },
        { name: 'resource', resource: { resourceType: 'Patient', id: 'p1' } },
      ],
    },
    {}
  );
  try {
    const run = await startViewRun(params, principal, { views: loadViews() });
    let text = '';
    for await (const chunk of run.chunks) {
      text += Buffer.from(chunk).toString('utf8');
    }
    expect(JSON.parse(text)).toStrictEqual([{ id: 'p1' }]);
    return 200;
  } catch (err) {
    expect(err).toBeInstanceOf(OperationOutcomeError);
    return (err as OperationOutcomeError).outcome.id === 'forbidden' ? 403 : 400;
  }
}

describe('roles', () => {
  test.each([
    ['analyst', ['analyst'], 200, 403],
    ['privacy-officer', ['privacy-officer'], 200, 200],
    ['admin', ['admin'], 200, 200],
    ['source', ['source'], 403, 403],
    ['operator', ['operator'], 403, 403],
    ['fhir-reader', ['fhir-reader'], 403, 403],
  ] as const)('%s: de-identified %s, identified %s', async (_name, roles, deidentified, identified) => {
    expect(await attempt(as(...roles), true)).toBe(deidentified);
    expect(await attempt(as(...roles), false)).toBe(identified);
  });
});
