/**
 * `$viewdefinition-run`, without HTTP: who may run what, which resources the view sees (the ones
 * given, or the service's own through de-identification), and the encoded output as a stream of
 * chunks. Everything that can be refused is refused before the first chunk.
 */
import type { Group, Resource } from '@medplum/fhirtypes';
import { hasRole, type Principal } from '../../auth/principal.js';
import type { ClientTally, DisclosureAccounting, OnIdentifiedAccess } from '../../deid/identified-access.js';
import { OperationOutcomeError, type Problem } from '../../outcomes.js';
import { compartmentPatients } from '../compartment.js';
import { createEncoder, type OutputFormat } from '../output/index.js';
import { forbiddenWith, notFoundWith, notSupported, viewInvalid } from '../outcomes.js';
import { compileView, type CompiledView } from '../sof/compile.js';
import { evaluateView } from '../sof/evaluate.js';
import { elementsToKeep, keepElements } from '../sof/reads.js';
import type { ResourceSource } from '../source.js';
import type { ViewRegistry } from '../views.js';
import type { RunParameters } from './parameters.js';

/** What a run needs from the service. */
export interface ViewRunDeps {
  views: ViewRegistry;
  /** The resources this service holds; absent: runs without `resource` parameters are refused. */
  source?: ResourceSource;
  /**
   * De-identification of every resource read from `source` before any view sees it (undefined
   * result: leave the resource out). Absent: only identified runs of privileged callers read the store.
   */
  transform?: ((r: Resource) => Resource | undefined) & { readonly reads?: ReadonlySet<string> };
  /** Called (and awaited: no audit, no data) before an identified run reads the store. */
  onIdentifiedAccess?: OnIdentifiedAccess;
  /**
   * The accounting of disclosures: an identified run over the store is recorded once its output is
   * produced, one entry per client whose data it contained (src/audit/analytics-disclosure.ts).
   */
  accounting?: DisclosureAccounting;
}

/** A run ready to stream. */
export interface ViewRun {
  format: OutputFormat;
  contentType: string;
  /** The view's name, or `inline`. */
  viewName: string;
  /** The encoded output; iterating it evaluates the view. */
  chunks: AsyncIterable<Uint8Array>;
}

/**
 * Checks a run request and prepares its output.
 * @param params - Parsed parameters (parseRunParameters).
 * @param principal - The caller.
 * @param deps - Views, source, de-identification, audit.
 * @throws OperationOutcomeError: 403 role, 404 unknown viewReference, 422 invalid view, 400 not-supported.
 */
export async function startViewRun(params: RunParameters, principal: Principal | undefined, deps: ViewRunDeps): Promise<ViewRun> {
  if (!hasRole(principal, 'analyst') && !hasRole(principal, 'privacy-officer')) {
    throw new OperationOutcomeError(forbiddenWith('running views needs the analyst, privacy-officer or admin role'));
  }
  if (!params.deidentify && !hasRole(principal, 'privacy-officer')) {
    throw new OperationOutcomeError(forbiddenWith('deidentify=false (identified output) needs the privacy-officer or admin role', '/parameter'));
  }
  const { view, viewName } = resolveView(params, deps);
  const resources = params.resources
    ? inlineResources(params, view.resource)
    : await storeResources(params, view, viewName, principal as Principal, deps);
  const encoder = createEncoder(params.format, { columns: view.columns, header: params.header });
  // Identified output read from the store is a disclosure: its clients are counted as rows are made.
  const tally = !params.resources && !params.deidentify ? deps.accounting?.newTally() : undefined;
  const account = accountOnce(tally, deps.accounting, { who: (principal as Principal).name, view, viewName });
  return {
    format: params.format,
    contentType: encoder.contentType,
    viewName,
    chunks: (async function* () {
      try {
        let rows = 0;
        for await (const resource of resources) {
          let counted = false;
          for (const row of evaluateView(view, resource)) {
            if (!counted) {
              tally?.add(resource); // only resources that gave a row: the output's clients
              counted = true;
            }
            const chunk = encoder.row(row);
            if (chunk) {
              yield chunk;
            }
            if (params.limit !== undefined && ++rows >= params.limit) {
              await account();
              yield encoder.end();
              return;
            }
          }
        }
        // Recorded before the last chunk: a complete answer has its accounting entries committed.
        await account();
        yield encoder.end();
      } finally {
        // A run cut short (the client went away, a failure) is accounted for what it had produced.
        await account();
      }
    })(),
  };
}

/** Records the run's accounting entries the first time it is called (no-op for unaccounted runs). */
function accountOnce(
  tally: ClientTally | undefined,
  accounting: DisclosureAccounting | undefined,
  d: { who: string; view: CompiledView; viewName: string }
): () => Promise<void> {
  let done = false;
  return async () => {
    if (done || !tally || !accounting) {
      return;
    }
    done = true;
    await accounting.record({ who: d.who, action: '$viewdefinition-run', types: [d.view.resource], views: [d.viewName], clients: tally });
  };
}

function resolveView(params: RunParameters, deps: ViewRunDeps): { view: CompiledView; viewName: string } {
  if (params.viewResource) {
    try {
      return { view: compileView(params.viewResource.view), viewName: 'inline' };
    } catch (err) {
      if (err instanceof OperationOutcomeError && err.outcome.id === 'business-rule') {
        // Point into the request body: /parameter/<i>/resource/select/0/...
        const pointer = params.viewResource.pointer;
        const problems: Problem[] = (err.outcome.issue ?? []).map((i) => ({
          path: `${pointer}${i.expression?.[0] === '/' ? '' : (i.expression?.[0] ?? '')}`,
          message: i.details?.text ?? 'invalid',
          code: i.code,
        }));
        throw new OperationOutcomeError(viewInvalid(problems));
      }
      throw err;
    }
  }
  const named = deps.views.resolve(params.viewReference as string);
  if (!named) {
    throw new OperationOutcomeError(
      notFoundWith(`no view '${params.viewReference}': this service has ${deps.views.list().map((v) => `ViewDefinition/${v.name}`).join(', ') || 'no views'}`, '/parameter')
    );
  }
  return { view: named.view, viewName: named.name };
}

/** The caller's own resources, returned as evaluated (no de-identification): filtered like the store's. */
async function* inlineResources(params: RunParameters, type: string): AsyncIterable<Resource> {
  const all = params.resources ?? [];
  const patients = patientFilter(params, (id) => all.find((r) => r.resourceType === 'Group' && r.id === id) as Group | undefined);
  const since = params.since ? Date.parse(params.since) : undefined;
  for (const r of all) {
    if (r.resourceType !== type) {
      continue;
    }
    if (since !== undefined && !(Date.parse(r.meta?.lastUpdated ?? '') >= since)) {
      continue;
    }
    if (patients && !compartmentPatients(r).some((id) => patients.has(id))) {
      continue;
    }
    yield r;
  }
}

async function storeResources(
  params: RunParameters,
  view: CompiledView,
  viewName: string,
  principal: Principal,
  deps: ViewRunDeps
): Promise<AsyncIterable<Resource>> {
  const source = deps.source;
  if (!source) {
    throw new OperationOutcomeError(
      notSupported([{ path: '/parameter', message: 'this service holds no resources to run views over here: pass the resources as resource parameters' }])
    );
  }
  if (params.deidentify && !deps.transform) {
    throw new OperationOutcomeError(
      notSupported([
        {
          path: '/parameter',
          message: 'de-identification is not configured, so the service data cannot be given de-identified; a privacy officer may ask with deidentify=false',
        },
      ])
    );
  }
  const groups = new Map<string, Group | undefined>();
  for (const id of params.groups ?? []) {
    groups.set(id, (await source.read('Group', id)) as Group | undefined);
  }
  const patients = patientFilter(params, (id) => groups.get(id));
  if (!params.deidentify) {
    await deps.onIdentifiedAccess?.({
      who: principal.name,
      action: '$viewdefinition-run',
      types: [view.resource],
      view: viewName,
      ...(params.patient ? { patients: [params.patient] } : {}),
      ...(params.groups ? { groups: params.groups } : {}),
      ...(params.since ? { since: params.since } : {}),
    });
  }
  if (patients && patients.size === 0) {
    return (async function* () {})(); // patient/group that match nothing: an empty result
  }
  const stream = source.stream({
    types: [view.resource],
    ...(params.since ? { since: params.since } : {}),
    ...(patients ? { patients: [...patients] } : {}),
  });
  const transform = params.deidentify ? deps.transform : undefined;
  if (!transform) {
    return stream; // the view itself never walks the elements it does not read: nothing to drop
  }
  // De-identifying an element costs as much as reading it (a copy, HMACs, date shifts): only those
  // the view and the policy read are de-identified (sof/reads.ts; the same rows, tested).
  const keep = elementsToKeep(view, transform);
  return (async function* () {
    for await (const r of stream) {
      const out = transform(keep ? keepElements(r, keep) : r);
      if (out) {
        yield out;
      }
    }
  })();
}

/** The Patient ids of `patient` and the members of `group` (undefined: no filter). */
function patientFilter(params: RunParameters, group: (id: string) => Group | undefined): Set<string> | undefined {
  if (!params.patient && !params.groups) {
    return undefined;
  }
  const ids = new Set<string>(params.patient ? [params.patient] : []);
  for (const g of params.groups ?? []) {
    for (const m of group(g)?.member ?? []) {
      const id = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(m.entity?.reference ?? '')?.[1];
      if (id && !m.inactive) {
        ids.add(id);
      }
    }
  }
  return ids;
}
