/**
 * Rules over the output of every golden case (after FHIR-Converter's invariant tests): references are
 * well formed and resolve to what the referenced record maps to, identifiers are unique, nothing is
 * empty, every code system is one we declare, and every resource declares and passes its profile.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Participant, RecordKind, SessionRecord } from '../../src/domain/records.js';
import { loadMappings, mapRecord } from '../../src/mapping/index.js';
import { loadProfiles } from '../../src/profiles/pack.js';
import { validateDeclared } from '../../src/profiles/validate.js';
import { loadCaseFiles, runCase, type CaseRun } from '../../src/profiles/workbench/cases.js';

const mappings = loadMappings();
const packFor = (ns: string) => loadProfiles({ ns });
const runs: CaseRun[] = loadCaseFiles().files.flatMap((file) => file.suite.cases.map((_c, i) => runCase(file, i, mappings, packFor)));
const outputs = runs.filter((r) => r.actual && r.actual.length > 0);

/** Systems used literally in the mapping templates (not through a ConceptMap), each with its source. */
const LITERAL_SYSTEMS = [
  'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', // meta.security R (docs/fhir-mapping.md#security-labels)
  'http://terminology.hl7.org/CodeSystem/v3-ActCode', // meta.security BH
  'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', // Encounter participant and Consent actor roles
  'http://terminology.hl7.org/CodeSystem/consentscope', // Consent.scope patient-privacy
  'http://loinc.org', // Consent.category 64292-6
  'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category', // clinical-note
  'http://snomed.info/sct', // DocumentReference.context.practiceSetting 394913002
  'urn:ietf:bcp:47', // communication.language
  'http://unitsofmeasure.org', // Encounter.length in minutes
];

/** Code systems we declare: our CodeSystems (pack), ConceptMap targets, and the literal ones above. */
function declaredSystems(ns: string): Set<string> {
  const ours = packFor(ns).codeSystems.map((cs) => (cs.url ?? '').replace('https://fhir.example-practice.org', ns));
  const targets = mappings.conceptMaps
    .ids()
    .flatMap((id) => mappings.conceptMaps.targets(id))
    .filter((s) => s !== 'http://hl7.org/fhir/resource-types') // the resource type map yields a code, never a Coding
    .map((s) => s.replace('https://fhir.example-practice.org', ns));
  return new Set([...ours, ...targets, ...LITERAL_SYSTEMS]);
}

/** Every value in a JSON tree with its path. */
function* walk(value: unknown, path = ''): Generator<[string, unknown]> {
  yield [path, value];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      yield* walk(value[i], `${path}/${i}`);
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      yield* walk(v, `${path}/${k}`);
    }
  }
}

const name = (r: CaseRun): string => `${r.file} #${r.index} ${r.title}`;

test('there are golden outputs to check', () => {
  expect(outputs.length).toBeGreaterThan(80);
});

test.each(outputs.map((r) => [name(r), r] as const))('%s', (_name, run) => {
  const resources = run.actual as Resource[];
  const { ns, mrnSystem } = run.context.config;
  const problems: string[] = [];

  // No empty objects, arrays or strings anywhere (the engine prunes them; a template bug would not).
  resources.forEach((r, i) => {
    for (const [path, v] of walk(r)) {
      const empty = v === '' || (Array.isArray(v) && v.length === 0) || (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
      if (empty || v === null) {
        problems.push(`resource ${i} ${path}: empty`);
      }
    }
  });

  // Identifiers unique, and no two resources with the same id.
  const identifiers = resources.flatMap((r) => ((r as { identifier?: { system?: string; value?: string }[] }).identifier ?? []).map((id) => `${id.system}|${id.value}`));
  expect(identifiers.length).toBe(new Set(identifiers).size);
  const ids = resources.map((r) => r.id).filter(Boolean);
  expect(ids.length).toBe(new Set(ids).size);

  // Every coding system is declared.
  const declared = declaredSystems(ns);
  resources.forEach((r, i) => {
    for (const [path, v] of walk(r)) {
      const c = v as { system?: unknown; code?: unknown };
      if (c && typeof c === 'object' && typeof c.code === 'string' && typeof c.system === 'string' && !declared.has(c.system)) {
        problems.push(`resource ${i} ${path}: code system ${c.system} is not declared`);
      }
    }
  });

  // References: a literal or conditional reference by an identifier system we know; ours resolve.
  resources.forEach((r, i) => {
    for (const [path, v] of walk(r)) {
      if (!path.endsWith('/reference') || typeof v !== 'string') {
        continue;
      }
      const problem = referenceProblem(v, run, ns, mrnSystem);
      if (problem) {
        problems.push(`resource ${i} ${path}: ${problem}`);
      }
    }
  });

  // Every resource declares a profile of the pack, and passes it.
  resources.forEach((r, i) => {
    if (!r.meta?.profile?.length) {
      problems.push(`resource ${i}: no meta.profile`);
    }
    validateDeclared(r, packFor(ns))
      .filter((x) => x.severity === 'error')
      .forEach((x) => problems.push(`resource ${i} ${x.expression?.[0]}: ${x.details?.text}`));
  });

  expect(problems).toEqual([]);
});

/** Which resource type our identifier systems belong to (docs/fhir-mapping.md#identifier-systems). */
const OUR_SYSTEMS: Record<string, { types: string[]; kind: RecordKind }> = {
  'sid/collateral-contact': { types: ['RelatedPerson', 'Practitioner'], kind: 'participant' },
  'sid/roi': { types: ['Consent'], kind: 'consent' },
  'sid/session': { types: ['Encounter'], kind: 'session' },
  'sid/note': { types: ['DocumentReference'], kind: 'note' },
};

function referenceProblem(ref: string, run: CaseRun, ns: string, mrnSystem: string): string | undefined {
  const m = /^([A-Z][A-Za-z]+)\?identifier=([^|]+)\|(.+)$/.exec(ref);
  if (!m) {
    return `'${ref}' is not a conditional reference Type?identifier=system|value`;
  }
  const [, type, system, value] = m;
  if (type === 'Patient') {
    return system === mrnSystem ? undefined : `the Patient is found by the MRN system ${mrnSystem}, not ${system}`;
  }
  if (type === 'Practitioner' && system === 'http://hl7.org/fhir/sid/us-npi') {
    return /^\d{10}$/.test(value) ? undefined : `NPI '${value}' is not 10 digits`;
  }
  const ours = system.startsWith(`${ns}/`) ? OUR_SYSTEMS[system.slice(ns.length + 1)] : undefined;
  if (!ours) {
    return `${system} is not one of our identifier systems`;
  }
  if (!ours.types.includes(type)) {
    return `${system} identifies ${ours.types.join(' or ')}, not ${type}`;
  }
  // Resolve: when the referenced record is in the case's context, mapping it gives this very resource.
  const record =
    ours.kind === 'participant'
      ? run.context.participants?.[value.slice(0, value.lastIndexOf(':'))]
      : ours.kind === 'session' && run.context.session?.id === value
        ? run.context.session
        : undefined;
  if (!record) {
    return undefined;
  }
  // A session maps only with its participants; its key does not depend on who they are.
  const participants =
    ours.kind === 'session'
      ? Object.fromEntries((record as SessionRecord).participants.map((p) => [p.participantId, { id: p.participantId, client: record.client, relationship: 'other' } as Participant]))
      : undefined;
  const target = mapRecord(mappings, ours.kind, record, { config: run.context.config, participants }).resources.find(
    (x) => x.key.system === system && x.key.value === value
  );
  if (!target) {
    return `resolves to nothing: ${ours.kind} ${record.id} does not map to ${system}|${value}`;
  }
  return target.resource.resourceType === type ? undefined : `resolves to a ${target.resource.resourceType}, not a ${type}`;
}
