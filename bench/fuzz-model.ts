/**
 * The HTTP fuzz model shared by the CI test (test/security/fuzz.test.ts, a few thousand cases) and the
 * on-demand run (bench/fuzz.ts, 100,000): fast-check generates requests to the record routes, the
 * import, `$map` and `/fhir` (valid records and resources mutated at random, random JSON, garbage,
 * malformed paths, percent-encoding, odd content types and encodings, batches and transactions), sends
 * them to a running service, and checks what comes back:
 * - never a 5xx, and the service keeps answering (no crash);
 * - every error is a JSON OperationOutcome quoting no JavaScript internals;
 * - no OperationOutcome anywhere in an answer quotes a value of the request: every generated string
 *   value carries a canary (`cnry` + 6 characters) and none may come back inside an issue's text.
 */
import fc from 'fast-check';

/** One generated request. */
export interface FuzzRequest {
  as: 'admin' | 'source' | 'fhir-reader' | 'operator';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** What a case found wrong (empty: fine). */
export type FuzzProblems = string[];

const CANARY = /cnry[a-z0-9]{6}/g;
const INTERNALS = /Cannot read propert|is not a function|is not iterable|TypeError|RangeError|SyntaxError|ReferenceError|Maximum call stack|Failed to decode param|node_modules|\bat [\w.<>]+ \(/;

const canary = fc.stringMatching(/^[a-z0-9]{6}$/).map((s) => `cnry${s}`);
const oddStrings = fc.constantFrom('', ' ', '\u0000', '\uD800', '\uDFFF', '%ZZ', '..', '__proto__', 'constructor', '9'.repeat(40), '2026-13-45', 'true', '{', '[]');
/** A string value: mostly carrying a canary, so an echo is detectable. */
const text = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(canary, fc.string({ maxLength: 12, unit: 'binary' })).map(([c, s]) => `${c}${s}`) },
  { weight: 2, arbitrary: canary },
  { weight: 1, arbitrary: oddStrings }
);
const scalar = fc.oneof(text, fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null));
const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(fc.constantFrom('id', 'resourceType', 'client', 'mrn', 'entry', 'request', 'url', 'method', 'resource', '__proto__', 'constructor'), fc.string({ maxLength: 8 })), tie('value'), {
    maxKeys: 5,
  }),
})).value;

// Fictional seed records (the shapes of the v1 contract) and FHIR resources, mutated below.
const RECORDS: Record<string, Record<string, unknown>> = {
  participant: { id: 'p-f1', client: { mrn: 'MRN-F1' }, name: { given: ['Ann'], family: 'Doe' }, relationship: 'mother', legalGuardian: true, telecom: [{ system: 'phone', value: '+1-555-0199' }] },
  consent: {
    id: 'c-f1',
    client: { mrn: 'MRN-F1' },
    status: 'active',
    recipients: ['p-f1'],
    actions: ['disclose'],
    purposes: ['treatment'],
    dataClasses: ['attendance'],
    period: { start: '2026-01-10', end: '2099-01-01' },
    signedAt: '2026-01-10T15:00:00Z',
    signedBy: { participantId: 'p-f1' },
    legalBasis: 'hipaa-authorization',
  },
  session: {
    id: 's-f1',
    client: { mrn: 'MRN-F1' },
    therapist: { npi: '1234567893' },
    type: 'collateral',
    participants: [{ participantId: 'p-f1' }],
    modality: 'video',
    status: 'completed',
    start: '2026-02-01T16:00:00-05:00',
  },
  note: { id: 'n-f1', sessionId: 's-f1', author: { npi: '1234567893' }, kind: 'session-summary', status: 'final', contentType: 'text/plain', text: 'Fine.' },
};
const COLLECTION: Record<string, string> = { participant: 'participants', consent: 'consents', session: 'sessions', note: 'notes' };
const RESOURCES: Record<string, unknown>[] = [
  { resourceType: 'Patient', identifier: [{ system: 'https://h/mrn', value: 'MRN-F1' }], name: [{ family: 'Doe' }], birthDate: '1990-01-01' },
  { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } },
  { resourceType: 'RelatedPerson', patient: { reference: 'Patient/x' }, name: [{ family: 'Roe' }] },
  { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
];

/** Applies random edits to a copy: set or delete a key at a random depth, or replace the whole thing. */
function mutate(base: unknown, edits: [number, string, unknown | undefined][]): unknown {
  let value: unknown = structuredClone(base);
  for (const [pick, key, v] of edits) {
    if (pick % 13 === 0) {
      value = v;
      continue;
    }
    // Walk down a path chosen by `pick` to an object or array, then set or delete `key` there.
    let at: unknown = value;
    let p = pick;
    for (let depth = 0; depth < 3 && at && typeof at === 'object'; depth++) {
      const keys = Object.keys(at as object);
      if (keys.length === 0 || p % 3 === 0) {
        break;
      }
      const next = (at as Record<string, unknown>)[keys[p % keys.length]];
      if (!next || typeof next !== 'object') {
        break;
      }
      at = next;
      p = Math.floor(p / 3);
    }
    if (at && typeof at === 'object' && !(Array.isArray(at) && key === 'length')) {
      try {
        if (v === undefined) {
          delete (at as Record<string, unknown>)[key];
        } else {
          Object.defineProperty(at, key, { value: v, enumerable: true, writable: true, configurable: true });
        }
      } catch {
        // A property JavaScript will not let go of or redefine: leave this edit out.
      }
    }
  }
  return value;
}

const someEdits = fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constantFrom('id', 'client', 'mrn', 'status', 'resourceType', 'text', '__proto__', 'constructor', 'extra'), fc.string({ maxLength: 6 })), fc.option(jsonish, { nil: undefined })), {
  maxLength: 4,
});
/** A third of the time no edit at all: valid input must reach the deep paths too. */
const edits = fc.oneof({ weight: 1, arbitrary: fc.constant([] as [number, string, unknown][]) }, { weight: 2, arbitrary: someEdits });
const idSegment = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/) },
  { weight: 2, arbitrary: canary },
  { weight: 2, arbitrary: fc.constantFrom('%ZZ', '%FF', '%ED%A0%80', '%2F', '%00', '..', '%2E%2E', 'a%', '%E0%A4%A', '%uD800', '%F0%9F%98%80') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map(encodePathSegment) }
);
function encodePathSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return 'x'; // a lone surrogate cannot be encoded; the raw escapes above cover that case
  }
}
const jsonTypes = fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json', 'application/fhir+json', 'text/plain', 'application/x-ndjson', 'application/xml', '', 'application/json; charset=latin1', 'application/json; charset=utf-16');
/** Mostly no Content-Encoding; sometimes one that does not match the (plain) body, or one we do not read. */
const encodings = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'x-zip') });
const who = fc.constantFrom<FuzzRequest['as']>('admin', 'admin', 'admin', 'admin', 'source', 'fhir-reader', 'operator');

/** Encodes a generated value as a body: JSON, or sometimes broken JSON. */
const asBody = (v: unknown, cut: number): string => {
  const s = JSON.stringify(v) ?? 'null';
  return cut % 9 === 0 ? s.slice(0, cut % Math.max(1, s.length)) : s;
};

function withHeaders(type: string, encoding: string | undefined): Record<string, string> {
  return { ...(type ? { 'content-type': type } : {}), ...(encoding ? { 'content-encoding': encoding } : {}) };
}

const recordRoute = fc
  .tuple(who, fc.constantFrom('GET', 'PUT', 'PUT', 'DELETE'), fc.constantFrom(...Object.keys(RECORDS), 'widget'), fc.option(idSegment, { freq: 2 }), edits, jsonTypes, encodings, fc.nat())
  .map(([as, method, kind, id, e, type, enc, cut]): FuzzRequest => {
    const record = mutate(RECORDS[kind] ?? RECORDS.session, e);
    // Mostly the record's own id, so valid-looking writes get past the id check.
    const recordId = id ?? (typeof (record as { id?: unknown })?.id === 'string' ? encodePathSegment((record as { id: string }).id) : 'x');
    return {
      as,
      method,
      path: `/api/v1/${COLLECTION[kind] ?? kind}/${recordId || 'x'}`,
      headers: method === 'PUT' ? withHeaders(type || 'application/json', enc) : {},
      body: method === 'PUT' ? asBody(record, cut) : undefined,
    };
  });

const ndjsonLine = fc.oneof(
  fc.tuple(fc.constantFrom(...Object.keys(RECORDS), 'widget'), edits, fc.nat()).map(([kind, e, cut]) => asBody({ kind, record: mutate(RECORDS[kind] ?? {}, e) }, cut)),
  jsonish.map((v) => JSON.stringify(v) ?? ''),
  text
);
const importRoute = fc
  .tuple(who, fc.array(ndjsonLine, { maxLength: 6 }), fc.constantFrom('application/x-ndjson', 'application/ndjson', 'application/json', 'text/plain', ''), encodings)
  .map(([as, lines, type, enc]): FuzzRequest => ({ as, method: 'POST', path: '/api/v1/import', headers: withHeaders(type, enc), body: lines.join('\n') }));

const mapRoute = fc
  .tuple(who, fc.constantFrom('participant', 'consent', 'session', 'note', 'widget', ''), fc.array(ndjsonLine, { minLength: 1, maxLength: 3 }), fc.boolean(), edits, fc.nat())
  .map(([as, kind, lines, single, e, cut]): FuzzRequest => ({
    as,
    method: 'POST',
    path: `/api/v1/$map${kind ? `?kind=${kind}` : ''}`,
    headers: { 'content-type': single ? 'application/json' : 'application/x-ndjson' },
    body: single ? asBody(mutate(RECORDS[kind] ?? RECORDS.note, e), cut) : lines.join('\n'),
  }));

const fhirType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('Patient', 'Encounter', 'RelatedPerson', 'Observation') },
  { weight: 1, arbitrary: fc.constantFrom('AuditEvent', 'patient', 'Nope', '$graphql', '_history', 'metadata', '$validate', '_search') }
);
const queryValue = fc.oneof(text, fc.constantFrom('2026-01-01', 'gt2026', 'https://h/mrn|MRN-F1', '-1', '999999999', '%ZZ'));
const query = fc
  .array(fc.tuple(fc.constantFrom('identifier', 'name', 'birthdate', '_count', '_sort', '_id', 'status', '_include', '_revinclude', 'subject', 'patient', '_summary', '_elements', 'date', 'x'), queryValue), { maxLength: 3 })
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v.startsWith('%') ? v : encodePathSegment(v)}`).join('&')}` : ''));
const bundleEntry = fc
  .tuple(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'FETCH'), fhirType, fc.option(idSegment, { nil: undefined }), fc.constantFrom(...RESOURCES), edits)
  .map(([method, type, id, resource, e]) => ({ request: { method, url: id ? `${type}/${id}` : type }, resource: mutate(resource, e) }));
const bundle = fc
  .tuple(fc.constantFrom('transaction', 'batch', 'collection', 'nope'), fc.array(fc.oneof({ weight: 4, arbitrary: bundleEntry }, { weight: 1, arbitrary: jsonish }), { maxLength: 4 }))
  .map(([type, entry]) => ({ resourceType: 'Bundle', type, entry }));

const fhirRoute = fc
  .tuple(
    who,
    fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...RESOURCES) }, { weight: 1, arbitrary: bundle }, { weight: 1, arbitrary: jsonish }),
    fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fhirType }),
    fc.option(idSegment, { nil: undefined, freq: 2 }),
    query,
    edits,
    fc.constantFrom('application/fhir+json', 'application/fhir+json', 'application/fhir+json', 'application/json', 'application/json-patch+json', 'application/x-www-form-urlencoded', 'text/plain'),
    encodings,
    fc.nat()
  )
  .map(([as, method, resource, otherType, id, q, e, ctype, enc, cut]): FuzzRequest => {
    const r = resource as { resourceType?: unknown };
    // Mostly the resource's own type in the URL (a plausible request), sometimes another or a bad one.
    const type = otherType ?? (typeof r?.resourceType === 'string' && r.resourceType !== 'Bundle' ? r.resourceType : 'Patient');
    const root = r?.resourceType === 'Bundle' && method === 'POST';
    const path = root ? '/fhir' : `/fhir/${type}${id && method !== 'POST' ? `/${id}` : ''}${method === 'GET' || method === 'DELETE' ? q : ''}`;
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    return { as, method, path, headers: hasBody ? withHeaders(ctype, enc) : {}, body: hasBody ? asBody(mutate(resource, e), cut) : undefined };
  });

/** Requests over the four surfaces of issue #10's fuzz item. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(recordRoute, importRoute, mapRoute, fhirRoute);

/** Every issue text and diagnostics string in an answer (OperationOutcomes may sit anywhere in it). */
function issueTexts(value: unknown, out: string[] = []): string[] {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.resourceType === 'OperationOutcome' || (Array.isArray(o.issue) && 'severity' in ((o.issue as object[])[0] ?? {}))) {
        for (const i of (o.issue as { details?: { text?: string }; diagnostics?: string }[]) ?? []) {
          out.push(i.details?.text ?? '', i.diagnostics ?? '');
        }
      }
      stack.push(...Object.values(o));
    }
  }
  return out;
}

/** Checks one answer; returns what is wrong with it. */
export function checkAnswer(req: FuzzRequest, status: number, contentType: string, text: string): FuzzProblems {
  const problems: FuzzProblems = [];
  if (status >= 500) {
    problems.push(`${status}`);
  }
  if (INTERNALS.test(text)) {
    problems.push('JavaScript internals in the answer');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    if (status >= 400 || /json/.test(contentType)) {
      problems.push('answer is not JSON');
    }
  }
  if (status >= 400 && (json as { resourceType?: string } | undefined)?.resourceType !== 'OperationOutcome') {
    problems.push('error is not an OperationOutcome');
  }
  const sent = new Set([...(req.body ?? '').matchAll(CANARY), ...safeDecode(req.path).matchAll(CANARY)].map((m) => m[0]));
  if (sent.size > 0) {
    for (const t of issueTexts(json)) {
      for (const c of sent) {
        if (t.includes(c)) {
          problems.push(`an issue quotes the request's value ${c}: ${t.slice(0, 120)}`);
        }
      }
    }
  }
  return problems;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Sends one request (node's fetch; bodies as bytes, so lone surrogates go out as the replacement character). */
export async function send(baseUrl: string, tokens: Record<FuzzRequest['as'], string>, req: FuzzRequest): Promise<{ status: number; contentType: string; text: string }> {
  const res = await fetch(`${baseUrl}${req.path}`, {
    method: req.method,
    headers: { authorization: `Bearer ${tokens[req.as]}`, ...req.headers },
    body: req.body,
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}
