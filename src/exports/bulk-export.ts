/**
 * FHIR Bulk Data `$export` (Bulk Data Access IG v2): the kick-off parameters and the job that writes one
 * NDJSON file per resource type.
 * See: https://hl7.org/fhir/uv/bulkdata/export.html
 */
import { join } from 'node:path';
import { getResourceTypes, isResourceType } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { createDeidentifier, type DeidPolicy } from '../deid/index.js';
import type { DisclosureAccounting } from '../deid/identified-access.js';
import { exportNote, type Problem } from '../outcomes.js';
import { patientCompartmentTypes } from '../analytics/compartment.js';
import type { JobOutput, JobRecord } from './job-store.js';
import { abortable, type JobContext, type JobRunner } from './jobs.js';
import { NdjsonFile } from './ndjson-file.js';
import { booleanOf, instantOf, patientIdOf, referenceOf, stringOf, type Param } from './params.js';
import type { ResourceSource } from '../analytics/source.js';

/** Export level: `[base]/$export`, `[base]/Patient/$export`, `[base]/Group/[id]/$export`. */
export type ExportLevel = 'system' | 'patient' | 'group';

/** The parsed kick-off, as stored in the job. */
export interface BulkParams {
  level: ExportLevel;
  types: string[];
  since?: string;
  /** Patient ids the export is restricted to (patient parameter, or the Group's members). */
  patients?: string[];
  groupId?: string;
  /** deidentify=false asks for identified output. */
  identified: boolean;
}

/** The output formats Bulk Data requires a server to accept (all NDJSON). */
const NDJSON_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];
/** Bulk Data parameters this server does not implement: named in the 400 rather than ignored. */
const UNSUPPORTED = ['_elements', '_typeFilter', 'includeAssociatedData', 'organizeOutputBy', 'allowPartialManifests', '_until'];

/**
 * Checks the kick-off parameters.
 * @returns The parameters, or every problem (each naming its parameter); `unsupported` are 400 not-supported.
 */
export function parseBulkParams(
  level: ExportLevel,
  params: Param[],
  method: string
): { params?: BulkParams; problems: Problem[]; unsupported: Problem[] } {
  const problems: Problem[] = [];
  const unsupported: Problem[] = [];
  const types: string[] = [];
  const patients: string[] = [];
  let since: string | undefined;
  let identified = false;
  const seen = new Set<string>();
  for (const p of params) {
    if (['_outputFormat', '_since', 'deidentify'].includes(p.name) && seen.has(p.name)) {
      problems.push({ path: p.at, message: `${p.name} may be given once` });
      continue;
    }
    seen.add(p.name);
    switch (p.name) {
      case '_outputFormat': {
        const format = stringOf(p);
        if (!format || !NDJSON_FORMATS.includes(format)) {
          unsupported.push({ path: p.at, message: `_outputFormat must be one of ${NDJSON_FORMATS.join(', ')} (NDJSON is the only format served)` });
        }
        break;
      }
      case '_since':
        since = instantOf(p);
        if (!since) {
          problems.push({ path: p.at, message: '_since must be an instant with seconds and a time zone, like 2026-01-01T00:00:00Z' });
        }
        break;
      case '_type':
        for (const t of (stringOf(p) ?? '').split(',').map((s) => s.trim())) {
          if (!isResourceType(t)) {
            problems.push({ path: p.at, message: `_type: "${t}" is not a FHIR R4 resource type` });
          } else if (!types.includes(t)) {
            types.push(t);
          }
        }
        break;
      case 'patient': {
        const id = patientIdOf(referenceOf(p));
        if (method !== 'POST' || level === 'system') {
          problems.push({ path: p.at, message: 'patient is accepted in the Parameters body of a POST to Patient/$export or Group/[id]/$export' });
        } else if (!id) {
          problems.push({ path: p.at, message: 'patient must be a reference to a Patient, like {"reference": "Patient/123"}' });
        } else {
          patients.push(id);
        }
        break;
      }
      case 'deidentify': {
        const value = booleanOf(p);
        if (value === undefined) {
          problems.push({ path: p.at, message: 'deidentify must be true or false' });
        }
        identified = value === false;
        break;
      }
      default:
        if (UNSUPPORTED.includes(p.name)) {
          unsupported.push({ path: p.at, message: `${p.name} is not supported by this server` });
        } else {
          unsupported.push({ path: p.at, message: `${p.name} is not a parameter of $export (supported: _outputFormat, _since, _type, patient, deidentify)` });
        }
    }
  }
  if (problems.length > 0 || unsupported.length > 0) {
    return { problems, unsupported };
  }
  const allowed = level === 'system' ? getResourceTypes() : patientCompartmentTypes();
  const chosen = types.length > 0 ? types.filter((t) => allowed.includes(t)) : allowed;
  return {
    params: { level, types: chosen, since, identified, ...(patients.length > 0 ? { patients } : {}) },
    problems,
    unsupported,
  };
}

/** What the $export job needs. */
export interface BulkRunnerDeps {
  source: ResourceSource;
  policy: DeidPolicy;
  deidKey: string;
  /** The accounting of disclosures: an identified job is recorded, one entry per client, before it completes. */
  accounting?: DisclosureAccounting;
}

/** The $export job: one NDJSON file per type with resources, de-identified unless the job is identified. */
export function bulkRunner(deps: BulkRunnerDeps): JobRunner {
  return async (job: JobRecord, ctx: JobContext): Promise<JobOutput[]> => {
    const p = job.params as unknown as BulkParams;
    const failures = new Map<string, number>();
    const deidentify = job.identified
      ? (r: Resource): Resource | undefined => r
      : createDeidentifier(deps.policy, deps.deidKey, { onDropped: ({ resourceType }) => failures.set(resourceType, (failures.get(resourceType) ?? 0) + 1) });
    const outputs: JobOutput[] = [];
    // Identified files are a disclosure: the clients of what is written are counted as it is written.
    const tally = job.identified ? deps.accounting?.newTally() : undefined;
    const leftOut = new Map<string, number>();
    let resources = 0;
    for (let i = 0; i < p.types.length; i++) {
      const type = p.types[i];
      ctx.progress({ step: type, stepIndex: i + 1, steps: p.types.length, resources });
      let file: NdjsonFile | undefined;
      try {
        for await (const resource of abortable(deps.source.stream({ types: [type], since: p.since, patients: p.patients }), ctx.signal)) {
          ctx.signal.throwIfAborted();
          resources++;
          const out = deidentify(resource);
          if (!out) {
            if (!job.identified && !deps.policy.resourceTypes.has(type)) {
              leftOut.set(type, (leftOut.get(type) ?? 0) + 1);
            }
            continue;
          }
          file ??= new NdjsonFile(join(ctx.dir, `${type}.ndjson`));
          await file.write(out);
          tally?.add(out);
          if (resources % 500 === 0) {
            ctx.progress({ step: type, stepIndex: i + 1, steps: p.types.length, resources });
          }
        }
        if (file) {
          await file.close();
          outputs.push({ name: type, file: `${type}.ndjson`, count: file.count });
        }
      } catch (err) {
        await file?.abandon();
        throw err;
      }
    }
    ctx.progress({ step: 'done', stepIndex: p.types.length, steps: p.types.length, resources });
    if (tally) {
      // Before the job completes: no identified file is offered without its accounting entries.
      await deps.accounting?.record({ who: job.owner, action: '$export', types: outputs.map((o) => o.name), jobId: job.id, clients: tally });
    }
    const notes = errorOutcomes(failures, leftOut, deps.policy.id);
    if (notes.length > 0) {
      const file = new NdjsonFile(join(ctx.dir, 'OperationOutcome.ndjson'));
      for (const outcome of notes) {
        await file.write(outcome);
      }
      await file.close();
      outputs.push({ name: 'OperationOutcome', file: 'OperationOutcome.ndjson', count: file.count, error: true });
    }
    return outputs;
  };
}

/** Manifest error[] content: what was left out and why (types and counts only). */
function errorOutcomes(failures: Map<string, number>, leftOut: Map<string, number>, policyId: string): object[] {
  return [
    ...[...leftOut].map(([type, n]) =>
      exportNote('information', 'informational', `${n} ${type} resource(s) left out: the de-identification policy "${policyId}" does not cover ${type}`)
    ),
    ...[...failures].map(([type, n]) => exportNote('error', 'processing', `${n} ${type} resource(s) left out: de-identifying them failed`)),
  ];
}
