/**
 * Decides whether a restricted target profile accepts one FHIR request (a top-level HTTP request or one
 * entry of a batch) and, when not, answers what a real server answers:
 *
 * | refusal | status | issue.code |
 * |---|---|---|
 * | resource type not offered at all | 404 | not-supported |
 * | interaction not offered on the type or endpoint (PUT RelatedPerson/1 on oracle-like, any Bundle on epic-like) | 405 + Allow | not-supported |
 * | PUT Type/id for an id that does not exist (no update-as-create, `updateCreate: false`) | 405 + Allow | not-supported |
 * | the interaction is offered but not this variant: conditional create/update/patch/delete, a transaction where only batch is offered, an unsupported search parameter | 400 | not-supported |
 *
 * Refusing (rather than silently ignoring If-None-Exist or an unknown search parameter, as some servers
 * do) makes a client that did not plan from the CapabilityStatement fail loudly in the profile suites.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RestrictedProfile, SystemInteraction, TypeInteraction, TypeRules } from './target-profiles.js';

/** One request as the profile sees it. */
export interface ProfileRequest {
  /** HEAD counts as GET. */
  method: string;
  /** Relative to the base, with its query: `/Patient?identifier=…` or `Patient/1` (batch entry). */
  url: string;
  /** If-None-Exist (header, or `request.ifNoneExist` of a batch entry). */
  ifNoneExist?: string;
  /** The form body of `POST Type/_search`. */
  formParams?: Record<string, unknown>;
  /** `Bundle.type` of a POST to the base. */
  bundleType?: string;
}

/** Why a request is refused and how to answer it. */
export interface Refusal {
  status: 400 | 404 | 405;
  outcome: OperationOutcome;
  /** The methods the URL accepts, for the Allow header of a 405. */
  allow?: string[];
}

/** Whether `Type/id` currently exists (for the no-update-as-create rule). */
export type ExistsFn = (resourceType: string, id: string) => Promise<boolean>;

type Interaction = TypeInteraction | SystemInteraction | 'history-type' | 'history-system' | 'operation' | 'unknown';
type Shape = 'system' | 'type' | 'instance';

interface Classified {
  shape: Shape;
  interaction: Interaction;
  resourceType?: string;
  id?: string;
  /** A conditional create/update/patch/delete. */
  conditional: boolean;
}

/** Result-shaping parameters every server accepts; they select nothing. */
const CONTROL_PARAMS = new Set(['_count', '_offset', '_sort', '_total', '_summary', '_elements', '_format', '_pretty']);

/** Which method performs which interaction, per URL shape (for Allow). */
const METHODS_OF: Record<Shape, [string, Interaction][]> = {
  system: [
    ['GET', 'search-system'],
    ['POST', 'batch'],
    ['POST', 'transaction'],
  ],
  type: [
    ['GET', 'search-type'],
    ['POST', 'create'],
  ],
  instance: [
    ['GET', 'read'],
    ['PUT', 'update'],
    ['PATCH', 'patch'],
    ['DELETE', 'delete'],
  ],
};

/**
 * Checks one request against a restricted profile.
 * @param profile - The restricted profile.
 * @param req - The request.
 * @param exists - Looks up whether a resource exists (used for PUT Type/id only).
 * @returns The refusal, or undefined when the profile accepts the request.
 */
export async function checkRequest(
  profile: RestrictedProfile,
  req: ProfileRequest,
  exists: ExistsFn
): Promise<Refusal | undefined> {
  const c = classify(req);
  if (c.shape === 'system') {
    return checkSystem(profile, c);
  }
  const type = c.resourceType as string;
  const rules = Object.hasOwn(profile.types, type) ? profile.types[type] : undefined;
  if (!rules) {
    return refuse(404, `Resource type ${type} is not supported by this server`);
  }
  if (!(rules.interactions as readonly string[]).includes(c.interaction)) {
    return refuse(405, `${describe(c)} is not supported for ${type} by this server`, allowed(profile, c));
  }
  if (c.conditional && !profile.conditional) {
    return refuse(400, `Conditional ${c.interaction} (${c.interaction === 'create' ? 'If-None-Exist' : `${req.method} ${type}?query`}) is not supported by this server`);
  }
  if (c.interaction === 'search-type') {
    return checkSearchParams(type, rules, req);
  }
  if (c.interaction === 'update' && c.id && !(await exists(type, c.id))) {
    return refuse(
      405,
      `${type}/${c.id} does not exist and this server does not allow client-assigned ids (no update as create)`,
      allowed(profile, c)
    );
  }
  return undefined;
}

/**
 * The methods a URL of this shape accepts under the profile (GET implies HEAD).
 * @param profile - The restricted profile.
 * @param c - The classified request.
 * @returns HTTP methods, for an Allow header.
 */
function allowed(profile: RestrictedProfile, c: Classified): string[] {
  const granted: readonly string[] =
    c.shape === 'system' ? profile.system : (profile.types[c.resourceType as string]?.interactions ?? []);
  const methods = new Set(METHODS_OF[c.shape].filter(([, i]) => granted.includes(i)).map(([m]) => m));
  if (methods.has('GET')) {
    methods.add('HEAD');
  }
  return ALLOW_ORDER.filter((m) => methods.has(m));
}

const ALLOW_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

function checkSystem(profile: RestrictedProfile, c: Classified): Refusal | undefined {
  if ((profile.system as readonly string[]).includes(c.interaction)) {
    return undefined;
  }
  const bundles = profile.system.filter((i) => i === 'batch' || i === 'transaction');
  if ((c.interaction === 'batch' || c.interaction === 'transaction') && bundles.length > 0) {
    return refuse(400, `${c.interaction} Bundles are not supported by this server (supported: ${bundles.join(', ')})`);
  }
  return refuse(405, `${describe(c)} is not supported by this server`, allowed(profile, c));
}

function checkSearchParams(type: string, rules: TypeRules, req: ProfileRequest): Refusal | undefined {
  if (!rules.searchParams) {
    return undefined;
  }
  const q = req.url.indexOf('?');
  const names = [...new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1)).keys(), ...Object.keys(req.formParams ?? {})];
  // Only names go into the message: values (identifiers, dates) may be PHI and end up in logs.
  const unsupported = [
    ...new Set(names.filter((n) => !CONTROL_PARAMS.has(n) && !rules.searchParams?.includes(baseName(n)))),
  ];
  if (unsupported.length === 0) {
    return undefined;
  }
  return refuse(
    400,
    `Search parameter ${unsupported.join(', ')} is not supported for ${type} by this server ` +
      `(supported: ${rules.searchParams.join(', ')})`
  );
}

/** `patient:Patient.identifier` and `patient.identifier` both search on `patient`. */
function baseName(param: string): string {
  return param.split(/[:.]/, 1)[0];
}

/**
 * Names the interaction of a request from its method and path, the way medplum's FhirRouter routes it.
 * @param req - The request.
 * @returns Its shape, interaction, type, id and whether it is conditional.
 */
export function classify(req: ProfileRequest): Classified {
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const q = req.url.indexOf('?');
  const segs = (q < 0 ? req.url : req.url.slice(0, q)).split('/').filter(Boolean);
  const [type, second, third] = segs;
  if (segs.length === 0) {
    const bundle = req.bundleType === 'transaction' ? 'transaction' : 'batch';
    const interaction = method === 'GET' ? 'search-system' : method === 'POST' ? bundle : 'unknown';
    return { shape: 'system', interaction, conditional: false };
  }
  if (type.startsWith('$') || type === '_history') {
    return { shape: 'system', interaction: type === '_history' ? 'history-system' : 'operation', conditional: false };
  }
  if (segs.length === 1) {
    const interaction = lookup(TYPE_LEVEL, method);
    const conditional = interaction === 'create' ? Boolean(req.ifNoneExist) : interaction !== 'search-type';
    return { shape: 'type', interaction, resourceType: type, conditional: interaction !== 'unknown' && conditional };
  }
  if (segs.length === 2 && (second === '_search' || second === '_history' || second.startsWith('$'))) {
    const interaction =
      second === '_search' && method === 'POST' ? 'search-type' : second === '_history' ? 'history-type' : 'operation';
    return { shape: 'type', interaction, resourceType: type, conditional: false };
  }
  const id = second;
  if (segs.length === 2) {
    return { shape: 'instance', interaction: lookup(INSTANCE_LEVEL, method), resourceType: type, id, conditional: false };
  }
  let interaction: Interaction = 'unknown';
  if (third === '_history' && method === 'GET' && segs.length <= 4) {
    interaction = segs.length === 3 ? 'history-instance' : 'vread';
  } else if (third.startsWith('$') && segs.length === 3) {
    interaction = 'operation';
  }
  return { shape: 'instance', interaction, resourceType: type, id, conditional: false };
}

/** hasOwn: a batch entry's method is client data, and "constructor" must not find Object.prototype. */
function lookup(table: Record<string, Interaction>, method: string): Interaction {
  return Object.hasOwn(table, method) ? table[method] : 'unknown';
}

const TYPE_LEVEL: Record<string, Interaction> = {
  GET: 'search-type',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

const INSTANCE_LEVEL: Record<string, Interaction> = { GET: 'read', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function describe(c: Classified): string {
  switch (c.interaction) {
    case 'unknown':
      return 'This method';
    case 'operation':
      return 'The operation';
    default:
      return `The ${c.interaction} interaction`;
  }
}

function refuse(status: Refusal['status'], text: string, allow?: string[]): Refusal {
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    id: 'not-supported',
    issue: [{ severity: 'error', code: 'not-supported', details: { text } }],
  };
  return allow ? { status, outcome, allow } : { status, outcome };
}
