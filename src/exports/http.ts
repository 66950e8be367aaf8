/**
 * The async export endpoints, mounted at /fhir before the FHIR server's own routes (behind the same bearer
 * authentication):
 *
 * - `GET|POST /fhir/$export`, `/fhir/Patient/$export`, `/fhir/Group/{id}/$export` (Bulk Data v2)
 * - `POST /fhir/$viewdefinition-export`, `/fhir/ViewDefinition/$viewdefinition-export` (SQL on FHIR v2)
 * - `GET /fhir/_export/{jobId}`: status; `DELETE` cancels
 * - `GET /fhir/_export/{jobId}/result`: a view export's result Parameters (the status answers 303 here)
 * - `GET /fhir/_export/{jobId}/files/{file}`: a result file
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import express, { type Request, type Response } from 'express';
import { accepted } from '@medplum/core';
import type { Group, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { principalOf } from '../auth/principal.js';
import { exportFailed, inputInvalid, notFoundBecause, OperationOutcomeError, tooBusy, transformFailed, type Problem } from '../outcomes.js';
import { kickOffRefusal, mayReadJob, type IdentifiedAccessEvent, type OnIdentifiedAccess } from './access.js';
import { parseBulkParams, type BulkParams, type ExportLevel } from './bulk-export.js';
import type { JobRecord } from './job-store.js';
import type { JobManager, NewJob } from './jobs.js';
import { fromBody, fromQuery, type Param } from './params.js';
import type { ResourceSource } from '../analytics/source.js';
import { parseViewExportParams, type ViewExportDeps, type ViewExportParams } from './view-export.js';

/** What the routes need. */
export interface ExportRoutesDeps {
  manager: JobManager;
  reader: Pick<ResourceSource, 'read'>;
  /** The public base URL of /fhir (status and file URLs are absolute, as the specs ask). */
  baseUrl: () => string;
  /** $viewdefinition-export's evaluator and writers; without them the operation is not mounted. */
  views?: ViewExportDeps;
  onIdentifiedAccess?: OnIdentifiedAccess;
  /** Seconds a client should wait between polls. */
  retryAfterSeconds?: number;
}

const JSON_TYPES = ['application/fhir+json', 'application/json'];
const NDJSON = 'application/fhir+ndjson';

/** Creates the router (to mount at /fhir). */
export function exportRoutes(deps: ExportRoutesDeps): express.Router {
  const router = express.Router();
  const json = express.json({ type: JSON_TYPES, limit: '5mb' });
  const retryAfter = String(deps.retryAfterSeconds ?? 2);
  const statusUrl = (id: string): string => `${deps.baseUrl()}/_export/${id}`;

  const bulkKickOff = (level: ExportLevel) => async (req: Request, res: Response) => {
    refuse(res, false); // roles first: a caller who may not export learns nothing from parameter checks
    const problems: Problem[] = [];
    const params = gatherParams(req, problems);
    requireAsync(req, problems);
    const parsed = parseBulkParams(level, params, req.method);
    problems.push(...parsed.problems, ...parsed.unsupported.map((p) => ({ ...p, code: 'not-supported' as const })));
    if (problems.length > 0 || !parsed.params) {
      throw new OperationOutcomeError(inputInvalid(problems));
    }
    const bulk: BulkParams = parsed.params;
    refuse(res, bulk.identified);
    if (level === 'group') {
      const groupId = String(req.params.groupId);
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(groupId)) {
        throw new OperationOutcomeError(notFoundBecause('no such Group'));
      }
      const members = await groupMembers(deps.reader, groupId);
      bulk.groupId = groupId;
      bulk.patients = bulk.patients ? bulk.patients.filter((p) => members.includes(p)) : members;
    }
    const job = await start(req, res, { kind: 'bulk', identified: bulk.identified, params: bulk as unknown as Record<string, unknown> }, bulk.types, bulk.patients, '$export');
    res.status(202).setHeader('Content-Location', statusUrl(job.id));
    res.type('application/fhir+json').json(accepted(statusUrl(job.id)));
  };

  const viewKickOff = async (req: Request, res: Response): Promise<void> => {
    const views = deps.views as ViewExportDeps;
    refuse(res, false);
    const problems: Problem[] = [];
    const params = gatherParams(req, problems);
    requireAsync(req, problems);
    const parsed = await parseViewExportParams(params, views);
    problems.push(...parsed.problems, ...parsed.unsupported.map((p) => ({ ...p, code: 'not-supported' as const })));
    if (problems.length > 0) {
      throw new OperationOutcomeError(inputInvalid([...problems, ...parsed.notFound, ...parsed.invalid]));
    }
    if (parsed.invalid.length > 0) {
      throw new OperationOutcomeError(transformFailed([...parsed.invalid, ...parsed.notFound]));
    }
    if (parsed.notFound.length > 0) {
      throw new OperationOutcomeError(notFoundBecause(parsed.notFound.map((p) => p.message).join('; ')));
    }
    const view = parsed.params as ViewExportParams;
    refuse(res, view.identified);
    if (view.groups) {
      const members = (await Promise.all(view.groups.map((g) => groupMembers(deps.reader, g)))).flat();
      view.patients = view.patients ? view.patients.filter((p) => members.includes(p)) : members;
    }
    const types = [...new Set(view.views.map((v) => String(v.view.resource)))];
    const job = await start(req, res, { kind: 'view', identified: view.identified, params: view as unknown as Record<string, unknown> }, types, view.patients, '$viewdefinition-export');
    res.status(202).setHeader('Content-Location', statusUrl(job.id));
    res.type('application/fhir+json').json(viewParameters(job, statusUrl(job.id)));
  };

  /** Identified access is recorded before the job exists: if recording fails, nothing is exported. */
  const start = async (req: Request, res: Response, request: Omit<NewJob, 'owner' | 'request'>, types: string[], patients: string[] | undefined, action: IdentifiedAccessEvent['action']): Promise<JobRecord> => {
    if (!deps.manager.canAccept()) {
      res.setHeader('Retry-After', '30');
      throw new OperationOutcomeError(tooBusy(`${deps.manager.queued} exports are waiting already; try again later`));
    }
    const who = principalOf(res.locals)?.name ?? 'anonymous';
    const id = randomUUID();
    // The access audit (route table: subject 'operation') records the patients an export was restricted to.
    res.locals.auditDetail = { items: (patients ?? []).map((p) => ({ reference: `Patient/${p}` })) };
    if (request.identified) {
      await deps.onIdentifiedAccess?.({ who, action, types, ...(patients ? { patients } : {}), jobId: id });
    }
    return deps.manager.submit({ ...request, owner: who, request: `${deps.baseUrl()}${req.url}` }, id);
  };

  const refuse = (res: Response, identified: boolean): void => {
    const refusal = kickOffRefusal(principalOf(res.locals), identified);
    if (refusal) {
      throw new OperationOutcomeError(refusal);
    }
  };

  const jobOf = (req: Request, res: Response): JobRecord => {
    const job = deps.manager.get(String(req.params.id));
    if (!job || !mayReadJob(principalOf(res.locals), job)) {
      throw new OperationOutcomeError(notFoundBecause('no such export job (it may have expired or been cancelled)'));
    }
    return job;
  };

  // Plain path strings (the route table and its test match them; src/auth/route-table.ts).
  router.get('/$export', bulkKickOff('system'));
  router.post('/$export', json, bulkKickOff('system'));
  router.get('/Patient/$export', bulkKickOff('patient'));
  router.post('/Patient/$export', json, bulkKickOff('patient'));
  router.get('/Group/:groupId/$export', bulkKickOff('group'));
  router.post('/Group/:groupId/$export', json, bulkKickOff('group'));
  if (deps.views) {
    router.post('/$viewdefinition-export', json, viewKickOff);
    router.post('/ViewDefinition/$viewdefinition-export', json, viewKickOff);
  }

  router.get('/_export/:id', (req, res) => {
    const job = jobOf(req, res);
    if (job.state === 'failed') {
      throw new OperationOutcomeError(exportFailed(`export job ${job.id} ${job.error ?? 'failed'}`));
    }
    if (job.state !== 'completed') {
      res.status(202).setHeader('Retry-After', retryAfter);
      res.setHeader('X-Progress', progressText(job));
      if (job.kind === 'view') {
        res.type('application/fhir+json').json(viewParameters(job, statusUrl(job.id)));
      } else {
        res.end();
      }
      return;
    }
    res.setHeader('Expires', new Date(job.expiresAt as string).toUTCString());
    if (job.kind === 'view') {
      res.redirect(303, `${statusUrl(job.id)}/result`);
      return;
    }
    res.type('application/json').json(manifest(job, statusUrl(job.id)));
  });

  router.get('/_export/:id/result', (req, res) => {
    const job = jobOf(req, res);
    if (job.kind !== 'view' || job.state !== 'completed') {
      throw new OperationOutcomeError(notFoundBecause('this export has no result yet: poll its status URL'));
    }
    res.setHeader('Expires', new Date(job.expiresAt as string).toUTCString());
    res.type('application/fhir+json').json(viewParameters(job, statusUrl(job.id)));
  });

  router.get('/_export/:id/files/:file', async (req, res) => {
    const job = jobOf(req, res);
    const output = job.state === 'completed' ? job.outputs.find((o) => o.file === req.params.file) : undefined;
    if (!output) {
      throw new OperationOutcomeError(notFoundBecause('no such file in this export'));
    }
    if (job.identified) {
      const p = job.params as { patients?: string[]; views?: ViewExportParams['views'] };
      // A view's file holds rows of the view's resource type; a bulk file is named after its type.
      const type = p.views ? String(p.views.find((v) => v.name === output.name)?.view.resource ?? output.name) : output.name;
      await deps.onIdentifiedAccess?.({ who: principalOf(res.locals)?.name ?? 'anonymous', action: 'download', types: [type], ...(p.patients ? { patients: p.patients } : {}), jobId: job.id });
    }
    const format = job.kind === 'view' ? deps.views?.formats[(job.params as unknown as ViewExportParams).format] : undefined;
    res.status(200).type(format?.contentType ?? NDJSON);
    res.setHeader('Content-Disposition', `attachment; filename="${output.file}"`);
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(join(deps.manager.dir(job.id), output.file));
      stream.once('error', reject);
      res.once('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  });

  router.delete('/_export/:id', async (req, res) => {
    const job = jobOf(req, res);
    await deps.manager.cancel(job.id);
    res.status(202).end();
  });

  return router;
}

function gatherParams(req: Request, problems: Problem[]): Param[] {
  const query = fromQuery(req.query as Record<string, unknown>);
  if (req.method !== 'POST') {
    return query;
  }
  return [...query, ...fromBody(req.body, problems)];
}

function requireAsync(req: Request, problems: Problem[]): void {
  const prefer = (req.header('prefer') ?? '').split(/[,;]/).map((s) => s.trim().toLowerCase());
  if (!prefer.includes('respond-async')) {
    problems.push({ path: 'Prefer', message: 'the header Prefer: respond-async is required (this operation is asynchronous)', code: 'required' });
  }
}

async function groupMembers(reader: Pick<ResourceSource, 'read'>, id: string): Promise<string[]> {
  const group = (await reader.read('Group', id)) as Group | undefined;
  if (!group) {
    throw new OperationOutcomeError(notFoundBecause(`Group/${id} is not on this server`));
  }
  return (group.member ?? [])
    .filter((m) => !m.inactive)
    .map((m) => /(?:^|\/)Patient\/([^/]+)$/.exec(m.entity?.reference ?? '')?.[1])
    .filter((id): id is string => !!id);
}

function progressText(job: JobRecord): string {
  const p = job.progress;
  if (job.state === 'accepted' || !p) {
    return 'queued';
  }
  const percent = Math.floor(((p.stepIndex - 1) / Math.max(p.steps, 1)) * 100);
  return `${percent}% (${job.kind === 'view' ? 'view' : 'type'} ${p.stepIndex} of ${p.steps}: ${p.step}), ${p.resources} resources read`;
}

/** The Bulk Data completion manifest. */
function manifest(job: JobRecord, base: string): object {
  const url = (file: string): string => `${base}/files/${encodeURIComponent(file)}`;
  return {
    transactionTime: job.transactionTime,
    request: job.request,
    requiresAccessToken: true,
    output: job.outputs.filter((o) => !o.error).map((o) => ({ type: o.name, url: url(o.file), count: o.count })),
    error: job.outputs.filter((o) => o.error).map((o) => ({ type: 'OperationOutcome', url: url(o.file) })),
  };
}

/** $viewdefinition-export's Parameters: status, location, and when completed one output per view. */
function viewParameters(job: JobRecord, location: string): Parameters {
  const p = job.params as unknown as ViewExportParams;
  const parameter: ParametersParameter[] = [
    { name: 'exportId', valueString: job.id },
    ...(p.clientTrackingId ? [{ name: 'clientTrackingId', valueString: p.clientTrackingId }] : []),
    { name: 'status', valueCode: job.state },
    { name: 'location', valueUri: location },
    { name: 'cancelUrl', valueUri: location },
    { name: '_format', valueCode: p.format },
    ...(job.transactionTime ? [{ name: 'exportStartTime', valueInstant: job.transactionTime }] : []),
  ];
  if (job.state === 'completed') {
    parameter.push({ name: 'exportEndTime', valueInstant: job.finishedAt });
    parameter.push({ name: 'exportDuration', valueInteger: Math.round((Date.parse(job.finishedAt as string) - Date.parse(job.transactionTime as string)) / 1000) });
    for (const o of job.outputs) {
      parameter.push({
        name: 'output',
        part: [
          { name: 'name', valueString: o.name },
          { name: 'location', valueUri: `${location}/files/${encodeURIComponent(o.file)}` },
        ],
      });
    }
  }
  return { resourceType: 'Parameters', parameter };
}
