/**
 * The demo's first step on any target: make sure the example Patients and Practitioners
 * (examples/fhir-seed.json) exist on the FHIR server the service syncs to, reached exactly as the
 * service reaches it (src/fhir/kit-client.ts, with the same FHIR_AUTH_* settings), or say exactly what
 * the target lacks. An EHR registers its own patients and clinicians; the demo only creates them where
 * the target's CapabilityStatement offers `create`, and never twice (it searches by identifier first).
 */
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { parseCapabilities, type TargetCapabilities } from '../fhir/capabilities.js';
import { createTargetAuth, staticTokenSource } from '../fhir/auth/index.js';
import { createKitClientTarget } from '../fhir/kit-client.js';
import type { FhirTarget } from '../fhir/port.js';
import { UpstreamError } from '../fhir/upstream-error.js';
import { OperationOutcomeError } from '../outcomes.js';
import { LOCAL_COPY_SOFTWARE } from '../local-copy/capability.js';
import type { ServiceConnection } from './cli-config.js';

/** The FHIR server the service syncs to, as the demo reaches it. */
export interface DemoTarget {
  fhir: FhirTarget;
  /** Its FHIR base URL. */
  baseUrl: string;
  /** The service's own /fhir (no FHIR_BASE_URL). */
  embedded: boolean;
  /** "the embedded FHIR server http://…/fhir" or "the external FHIR server https://… (FHIR_BASE_URL, FHIR_AUTH_TYPE=…)". */
  description: string;
}

/** What the demo found or did for one example Patient or Practitioner. */
export interface SeedResult {
  resourceType: string;
  /** `MRN-1001`, `NPI 1234567893`. */
  label: string;
  outcome: 'found' | 'created' | 'missing' | 'ambiguous' | 'failed';
  /** `Patient/abc`, or what the target lacks or answered. */
  detail: string;
}

/** The text of an error from a FhirTarget call: the status and the server's own words. */
export function fhirErrorText(err: unknown): string {
  if (err instanceof OperationOutcomeError) {
    const texts = (err.outcome.issue ?? []).map((i) => i.details?.text ?? i.diagnostics ?? i.code);
    return texts.filter((t) => t && !/^upstream-status:/.test(t)).join('; ');
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * The FHIR server the service behind `conn` syncs to: FHIR_BASE_URL with its FHIR_AUTH_* settings (as
 * read by the service's own loader), else the service's embedded server at `<url>/fhir` with the API token.
 * @returns the target, or a message saying why it cannot be used.
 */
export async function demoTarget(conn: ServiceConnection): Promise<DemoTarget | string> {
  const { config } = conn;
  const timeoutMs = config.sync.requestTimeoutMs;
  if (config.fhirBaseUrl) {
    let auth;
    try {
      auth = await createTargetAuth({ settings: config.fhirAuth, fhirBaseUrl: config.fhirBaseUrl, timeoutMs });
    } catch (err) {
      return `Cannot authenticate to FHIR_BASE_URL ${config.fhirBaseUrl} (FHIR_AUTH_TYPE=${config.fhirAuth.type}): ${fhirErrorText(err)}`;
    }
    return {
      fhir: createKitClientTarget({ name: 'demo', baseUrl: config.fhirBaseUrl, auth: auth.source, timeoutMs }),
      baseUrl: config.fhirBaseUrl,
      embedded: false,
      description: `the external FHIR server ${config.fhirBaseUrl} (FHIR_BASE_URL; FHIR_AUTH_TYPE=${config.fhirAuth.type})`,
    };
  }
  const baseUrl = `${conn.url}/fhir`;
  return {
    fhir: createKitClientTarget({ name: 'demo', baseUrl, auth: staticTokenSource(() => conn.token), timeoutMs }),
    baseUrl,
    embedded: true,
    description: `the embedded FHIR server ${baseUrl}`,
  };
}

/**
 * Reads the target's CapabilityStatement, turning a missing embedded server into the advice to give
 * the demo the service's FHIR_BASE_URL.
 * @returns the capabilities, or a message.
 */
export async function targetCapabilities(target: DemoTarget, serviceUrl: string): Promise<TargetCapabilities | string> {
  let cs: CapabilityStatement;
  try {
    cs = await target.fhir.capabilities();
  } catch (err) {
    if (target.embedded && err instanceof UpstreamError && err.status === 404) {
      return (
        `The service at ${serviceUrl} has no embedded FHIR server (GET ${target.baseUrl}/metadata: HTTP 404), so it syncs to an ` +
        'external one. Run the demo with the same FHIR_BASE_URL and FHIR_AUTH_* settings as the service (the environment of its npm start), ' +
        'so the demo can seed that server.'
      );
    }
    const status = err instanceof UpstreamError ? (err.status === 0 ? 'no answer' : `HTTP ${err.status}`) : 'error';
    return `Cannot read the CapabilityStatement of ${target.description}: ${status}: ${fhirErrorText(err)}`;
  }
  if (target.embedded && cs.software?.name === LOCAL_COPY_SOFTWARE) {
    return (
      `The service at ${serviceUrl} has no embedded FHIR server: its ${target.baseUrl} is a read-only copy of what it sent to an external one. ` +
      'Run the demo with the same FHIR_BASE_URL and FHIR_AUTH_* settings as the service (the environment of its npm start), so the demo can seed that server.'
    );
  }
  return parseCapabilities(cs);
}

function describeOffer(caps: TargetCapabilities, type: string): string {
  const offered = [...(caps.type(type)?.interactions ?? [])];
  return offered.length > 0 ? `it offers ${offered.join(', ')}` : `it does not list ${type}`;
}

/** Makes sure one example resource exists on the target: found by identifier, or created where offered. */
async function seedOne(fhir: FhirTarget, caps: TargetCapabilities, resource: Resource): Promise<SeedResult> {
  const type = resource.resourceType;
  const id = (resource as { identifier?: { system?: string; value?: string }[] }).identifier?.[0];
  const system = id?.system ?? '';
  const value = id?.value ?? '';
  const label = type === 'Patient' ? value : `NPI ${value}`;
  const who = type === 'Patient' ? `the client with ${value}` : `the clinician with NPI ${value}`;
  const result = (outcome: SeedResult['outcome'], detail: string): SeedResult => ({ resourceType: type, label, outcome, detail });

  let found: Resource[];
  try {
    const bundle = await fhir.search(type, { identifier: `${system}|${value}` });
    found = (bundle.entry ?? []).flatMap((e) => (e.resource?.resourceType === type ? [e.resource] : []));
  } catch (err) {
    return result('failed', `cannot search ${type} by identifier: ${fhirErrorText(err)}`);
  }
  if (found.length === 1) {
    return result('found', `${type}/${found[0].id}`);
  }
  if (found.length > 1) {
    return result('ambiguous', `${found.length} ${type}s carry this identifier; merge them in the EHR (the service holds ${who}'s records meanwhile)`);
  }
  if (!caps.can(type, 'create')) {
    return result('missing', `the target cannot create ${type} (${describeOffer(caps, type)}): register ${type === 'Patient' ? value : who} in the EHR first`);
  }
  try {
    const conditional = caps.type(type)?.conditionalCreate === true;
    const written = await fhir.create(resource, conditional ? { ifNoneExist: `identifier=${system}|${value}` } : undefined);
    const createdId = written.resource?.id ?? /\/([^/]+)\/_history\//.exec(written.location ?? '')?.[1] ?? '?';
    return result('created', `${type}/${createdId}`);
  } catch (err) {
    const status = err instanceof UpstreamError ? `HTTP ${err.status}` : 'error';
    return result('failed', `the target refused to create it (${status}: ${fhirErrorText(err)})`);
  }
}

/**
 * Seeds every Patient and Practitioner of the example bundle on the target, one by one.
 * @param bundle - examples/fhir-seed.json.
 */
export async function seedExamples(fhir: FhirTarget, caps: TargetCapabilities, bundle: Bundle): Promise<SeedResult[]> {
  const results: SeedResult[] = [];
  for (const entry of bundle.entry ?? []) {
    if (entry.resource) {
      results.push(await seedOne(fhir, caps, entry.resource));
    }
  }
  return results;
}
