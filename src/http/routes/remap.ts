/**
 * POST /api/v1/$remap: the remap dry run of `collateral-fhir remap --dry-run` over HTTP, for the
 * console's mapping playground. Every stored record (or those of `kind`) is mapped as the sync maps it
 * and compared with what the ledger says the target holds; nothing is queued, stored or sent.
 *
 * Body (JSON, all optional): `kind`; `diff: true` for a JSON diff per changed resource (deployed
 * mappings' output -> candidate output); `mappings`: candidate mapping documents (mappings/*.json
 * shape) that replace the deployed mapping of their kind, to see what a change would do before
 * deploying it. One pass over the stored records: an on-demand report, like the CLI's.
 * Roles: source (integration engineers), operator (masked), admin.
 */
import express, { type Router } from 'express';
import { identifiedFor, requireRoles } from '../../console/access.js';
import { withCandidates } from '../../console/candidate-mappings.js';
import { maskDiff } from '../../console/mask-views.js';
import { phiValues, scrub } from '../../console/phi-mask.js';
import { ParamReader } from '../../console/query-params.js';
import { planRemap, type RemapReport } from '../../cli/remap-plan.js';
import type { RecordKind } from '../../domain/records.js';
import type { MappingConfig, MappingSet } from '../../mapping/index.js';
import { inputInvalid, OperationOutcomeError } from '../../outcomes.js';
import type { ProfilePack } from '../../profiles/pack.js';
import type { Store } from '../../store/port.js';
import type { DisclosureGate } from '../../sync/gate.js';

export interface RemapRouteDeps {
  store: Store;
  mappings: MappingSet;
  pack: ProfilePack;
  config: MappingConfig;
  gate: DisclosureGate;
  /** The sync target whose ledger is compared. */
  target: string;
}

const ALLOWED = new Set(['kind', 'diff', 'mappings']);

export function remapRouter(deps: RemapRouteDeps): Router {
  const router = express.Router();
  const json = express.json({ limit: '2mb', type: ['application/json', 'application/*+json'] });
  router.post('/$remap', requireRoles('source', 'operator'), json, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new OperationOutcomeError(inputInvalid([{ path: '', message: 'must be a JSON object ({"kind", "diff", "mappings"}, all optional)' }]));
    }
    const reader = new ParamReader({ kind: body.kind });
    const kind = reader.kind('kind');
    for (const k of Object.keys(body).filter((k) => !ALLOWED.has(k))) {
      reader.problems.push({ path: `/${k}`, message: 'is not a field of a remap request (kind, diff, mappings)' });
    }
    if (body.diff !== undefined && typeof body.diff !== 'boolean') {
      reader.problems.push({ path: '/diff', message: 'must be true or false' });
    }
    if (body.mappings !== undefined && (!Array.isArray(body.mappings) || body.mappings.length > 4)) {
      reader.problems.push({ path: '/mappings', message: 'must be an array of at most 4 mapping documents (one per kind)' });
    }
    reader.done();
    const candidates = Array.isArray(body.mappings) && body.mappings.length > 0 ? withCandidates(deps.mappings, body.mappings, '/mappings') : undefined;
    const report = await planRemap({
      store: deps.store,
      target: deps.target,
      config: deps.config,
      mappings: candidates ?? deps.mappings,
      pack: deps.pack,
      ...(kind ? { kind } : {}),
      gate: deps.gate,
      ...(body.diff === true ? { baseline: deps.mappings } : {}),
    });
    const identified = identifiedFor(res);
    res.json({ candidate: !!candidates, masked: !identified, ...(identified ? report : await masked(deps.store, report)) });
  });
  return router;
}

/** The report with diff values of PHI paths masked and the records' PHI values scrubbed everywhere. */
async function masked(store: Store, report: RemapReport): Promise<RemapReport> {
  const keys = new Map<string, { kind: RecordKind; id: string }>();
  for (const x of [...report.changes, ...report.notMapped]) {
    keys.set(`${x.kind}/${x.recordId}`, { kind: x.kind, id: x.recordId });
  }
  const byKind = new Map<RecordKind, string[]>();
  for (const k of keys.values()) {
    byKind.set(k.kind, [...(byKind.get(k.kind) ?? []), k.id]);
  }
  const records = (await Promise.all([...byKind].map(([kind, ids]) => store.records.getRecords(kind, ids)))).flat();
  const values = phiValues(
    records.map((r) => ({ kind: r.kind, body: r.body })),
    records.map((r) => r.clientMrn)
  );
  const out: RemapReport = { ...report, changes: report.changes.map((c) => (c.diff ? { ...c, diff: maskDiff(c.diff) } : c)) };
  return scrub(out, values);
}
