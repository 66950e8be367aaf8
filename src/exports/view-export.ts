/**
 * SQL-on-FHIR v2 `$viewdefinition-export` (OperationDefinition ViewDefinitionExport): the kick-off
 * parameters and the job that runs each view over the (de-identified) resources and writes its rows.
 *
 * The evaluator and the row writers are dependencies (`ViewExportDeps`): the analytics track provides them
 * (src/analytics/), this module only needs their shape. See docs/exports.md for what is wired.
 * See: https://sql-on-fhir.org/OperationDefinition/$viewdefinition-export
 */
import { join } from 'node:path';
import type { Resource, ViewDefinition } from '@medplum/fhirtypes';
import { keepElements } from '../analytics/sof/reads.js';
import { createDeidentifier, type Deidentifier, type DeidPolicy } from '../deid/index.js';
import type { DisclosureAccounting } from '../deid/identified-access.js';
import type { Problem } from '../outcomes.js';
import type { JobOutput, JobRecord } from './job-store.js';
import { abortable, type JobContext, type JobRunner } from './jobs.js';
import { booleanOf, groupIdOf, instantOf, patientIdOf, referenceOf, stringOf, type Param } from './params.js';
import type { ResourceSource } from '../analytics/source.js';

/** One output row of a view. */
export type Row = Record<string, unknown>;

/** Where a view's rows go: one file. */
export interface RowSink {
  write(row: Row): void | Promise<void>;
  close(): Promise<void>;
}

/** An output format: its file extension, its media type and how to open a file of it. */
export interface RowFormat {
  extension: string;
  contentType: string;
  /** Opens `path` (to be created with mode 0600) for the rows of `view`. */
  open(path: string, view: ViewDefinition): RowSink | Promise<RowSink>;
}

/** What $viewdefinition-export needs from the analytics side. */
export interface ViewExportDeps {
  /** Evaluates a view over resources, streaming rows. */
  runView(view: ViewDefinition, resources: AsyncIterable<Resource>): AsyncIterable<Row>;
  /** Output formats by `_format` code (csv, ndjson, json, parquet ...). */
  formats: Record<string, RowFormat>;
  /** The view a `viewReference` names (`ViewDefinition/<name>`), or undefined. */
  resolveView(reference: string): ViewDefinition | undefined | Promise<ViewDefinition | undefined>;
  /** Every problem of a view, with its path; none when valid. */
  validateView(view: unknown): Problem[];
  /**
   * The top-level elements a (valid) view may read, or undefined when that cannot be told. When given,
   * de-identified jobs de-identify only those and the ones the policy reads (the same rows, cheaper).
   */
  elementsRead?(view: ViewDefinition): ReadonlySet<string> | undefined;
}

/** One requested view, resolved. */
export interface ViewRequest {
  name: string;
  view: ViewDefinition;
}

/** The parsed kick-off, as stored in the job. */
export interface ViewExportParams {
  views: ViewRequest[];
  format: string;
  clientTrackingId?: string;
  since?: string;
  patients?: string[];
  groups?: string[];
  identified: boolean;
}

/** Outcome of parsing: parameter problems (400), unknown views (404), invalid views (422). */
export interface ParsedViewExport {
  params?: ViewExportParams;
  problems: Problem[];
  unsupported: Problem[];
  notFound: Problem[];
  invalid: Problem[];
}

/**
 * Checks the kick-off parameters and resolves the views.
 */
export async function parseViewExportParams(params: Param[], deps: ViewExportDeps): Promise<ParsedViewExport> {
  const out: ParsedViewExport = { problems: [], unsupported: [], notFound: [], invalid: [] };
  const views: ViewRequest[] = [];
  const patients: string[] = [];
  const groups: string[] = [];
  let format = 'ndjson';
  let clientTrackingId: string | undefined;
  let since: string | undefined;
  let identified = false;
  for (const p of params) {
    switch (p.name) {
      case 'view': {
        const view = await viewOf(p, deps, out);
        if (view) {
          views.push(view);
        }
        break;
      }
      case '_format': {
        const f = stringOf(p);
        if (!f || !deps.formats[f]) {
          out.unsupported.push({ path: p.at, message: `_format must be one of ${Object.keys(deps.formats).join(', ')}` });
        } else {
          format = f;
        }
        break;
      }
      case 'clientTrackingId':
        clientTrackingId = stringOf(p);
        if (!clientTrackingId) {
          out.problems.push({ path: p.at, message: 'clientTrackingId must be a string' });
        }
        break;
      case '_since':
        since = instantOf(p);
        if (!since) {
          out.problems.push({ path: p.at, message: '_since must be an instant with seconds and a time zone, like 2026-01-01T00:00:00Z' });
        }
        break;
      case 'patient': {
        const id = patientIdOf(referenceOf(p));
        if (!id) {
          out.problems.push({ path: p.at, message: 'patient must be a reference to a Patient, like {"reference": "Patient/123"}' });
        } else {
          patients.push(id);
        }
        break;
      }
      case 'group': {
        const id = groupIdOf(referenceOf(p));
        if (!id) {
          out.problems.push({ path: p.at, message: 'group must be a reference to a Group, like {"reference": "Group/cohort-1"}' });
        } else {
          groups.push(id);
        }
        break;
      }
      case 'deidentify': {
        const value = booleanOf(p);
        if (value === undefined) {
          out.problems.push({ path: p.at, message: 'deidentify must be true or false' });
        }
        identified = value === false;
        break;
      }
      case 'source':
        out.unsupported.push({ path: p.at, message: 'source is not supported: views run over the resources this service holds' });
        break;
      default:
        out.unsupported.push({
          path: p.at,
          message: `${p.name} is not a parameter of $viewdefinition-export (supported: view, _format, clientTrackingId, patient, group, _since, deidentify)`,
        });
    }
  }
  if (views.length === 0 && out.notFound.length === 0 && out.invalid.length === 0) {
    out.problems.push({ path: 'Parameters', message: 'at least one view parameter is required' });
  }
  out.params = {
    views: uniqueNames(views),
    format,
    identified,
    ...(clientTrackingId ? { clientTrackingId } : {}),
    ...(since ? { since } : {}),
    ...(patients.length > 0 ? { patients } : {}),
    ...(groups.length > 0 ? { groups } : {}),
  };
  return out;
}

async function viewOf(p: Param, deps: ViewExportDeps, out: ParsedViewExport): Promise<ViewRequest | undefined> {
  const parts = p.parts ?? [];
  const name = parts.find((x) => x.name === 'name');
  const reference = parts.find((x) => x.name === 'viewReference');
  const inline = parts.find((x) => x.name === 'viewResource');
  const other = parts.filter((x) => !['name', 'viewReference', 'viewResource'].includes(x.name));
  other.forEach((x) => out.unsupported.push({ path: x.at, message: `${x.name} is not a part of view (name, viewReference, viewResource)` }));
  if (!!reference === !!inline) {
    out.problems.push({ path: p.at, message: 'each view needs exactly one of viewReference and viewResource' });
    return undefined;
  }
  let view: ViewDefinition | undefined;
  if (reference) {
    const ref = referenceOf(reference);
    view = ref ? await deps.resolveView(ref) : undefined;
    if (!view) {
      out.notFound.push({ path: reference.at, message: `no ViewDefinition "${ref ?? ''}" on this server`, code: 'not-found' });
      return undefined;
    }
  } else {
    const candidate = inline?.resource;
    const problems = deps.validateView(candidate);
    if (problems.length > 0) {
      out.invalid.push(...problems.map((x) => ({ ...x, path: `${inline?.at}.resource${x.path ? `.${x.path.replace(/^\//, '').replace(/\//g, '.')}` : ''}` })));
      return undefined;
    }
    view = candidate as unknown as ViewDefinition;
  }
  return { name: stringOf(name ?? { name: '', value: undefined, at: '' }) ?? view.name ?? '', view };
}

/** Output names become file names: safe characters, unique, generated when missing. */
function uniqueNames(views: ViewRequest[]): ViewRequest[] {
  const used = new Set<string>();
  return views.map((v, i) => {
    const base = (v.name || `view-${i + 1}`).replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60) || `view-${i + 1}`;
    let name = base;
    for (let n = 2; used.has(name); n++) {
      name = `${base}-${n}`;
    }
    used.add(name);
    return { name, view: v.view };
  });
}

/** What the $viewdefinition-export job needs. */
export interface ViewRunnerDeps {
  source: ResourceSource;
  policy: DeidPolicy;
  deidKey: string;
  views: ViewExportDeps;
  /** The accounting of disclosures: an identified job is recorded, one entry per client, before it completes. */
  accounting?: DisclosureAccounting;
}

/**
 * The job: for each view, stream its resource type from the source (filtered by patients and _since),
 * de-identify unless identified, evaluate the view and write its rows to one file.
 */
export function viewRunner(deps: ViewRunnerDeps): JobRunner {
  return async (job: JobRecord, ctx: JobContext): Promise<JobOutput[]> => {
    const p = job.params as unknown as ViewExportParams;
    const format = deps.views.formats[p.format];
    const deidentify = job.identified ? (r: Resource): Resource | undefined => r : createDeidentifier(deps.policy, deps.deidKey);
    const outputs: JobOutput[] = [];
    // Identified files are a disclosure: the clients of the resources that gave rows are counted.
    const tally = job.identified ? deps.accounting?.newTally() : undefined;
    let resources = 0;
    for (let i = 0; i < p.views.length; i++) {
      const { name, view } = p.views[i];
      ctx.progress({ step: name, stepIndex: i + 1, steps: p.views.length, resources });
      // The resource the view evaluates now: runView pulls the next one only after the rows of this one
      // (it is lazy), so a row belongs to the last resource handed to it.
      let current: Resource | undefined;
      const keep = job.identified ? undefined : elementsToKeep(deps.views.elementsRead?.(view), (deidentify as Deidentifier).reads);
      const input = async function* (): AsyncIterable<Resource> {
        for await (const r of abortable(deps.source.stream({ types: [view.resource as string], since: p.since, patients: p.patients }), ctx.signal)) {
          ctx.signal.throwIfAborted();
          resources++;
          if (resources % 500 === 0) {
            ctx.progress({ step: name, stepIndex: i + 1, steps: p.views.length, resources });
          }
          const out = deidentify(keep ? keepElements(r, keep) : r);
          if (out) {
            current = out;
            yield out;
          }
        }
      };
      const file = `${name}.${format.extension}`;
      const sink = await format.open(join(ctx.dir, file), view);
      let rows = 0;
      try {
        for await (const row of deps.views.runView(view, input())) {
          ctx.signal.throwIfAborted();
          await sink.write(row);
          if (tally && current) {
            tally.add(current);
            current = undefined; // counted: its next rows need not count it again
          }
          rows++;
        }
      } finally {
        await sink.close();
      }
      outputs.push({ name, file, count: rows });
    }
    ctx.progress({ step: 'done', stepIndex: p.views.length, steps: p.views.length, resources });
    if (tally) {
      // Before the job completes: no identified file is offered without its accounting entries.
      const types = [...new Set(p.views.map((v) => String(v.view.resource)))];
      await deps.accounting?.record({ who: job.owner, action: '$viewdefinition-export', types, views: p.views.map((v) => v.name), jobId: job.id, clients: tally });
    }
    return outputs;
  };
}

/** What a de-identified job keeps: the view's elements and the policy's, when both are known. */
function elementsToKeep(view: ReadonlySet<string> | undefined, policy: ReadonlySet<string> | undefined): ReadonlySet<string> | undefined {
  return view && policy ? new Set([...view, ...policy]) : undefined;
}
