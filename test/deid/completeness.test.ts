/**
 * The completeness test: every element the resources we hold can carry (the R4 definitions of the policy's
 * types, walked through their data types, and every element of our profile snapshots) that may hold PHI
 * has a rule in the shipped policy, and the rule does not keep what must never be kept.
 *
 * "May hold PHI", by type: free text (string, markdown, xhtml), binaries (base64Binary), dates (date,
 * dateTime, instant, hence Period), URLs (uri, url, canonical), and everything inside HumanName,
 * ContactPoint, Address, Identifier, Attachment, Narrative, Annotation and Reference (reached by the walk).
 * Extensions and contained resources are sealed: they must be redacted whole.
 *
 * Only static rules count: a where() rule applies to some elements, never to the element path as such.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { governingRule, loadDeidPolicies, type DeidPolicy } from '../../src/deid/index.js';
import { elementsOf } from '../../src/deid/element-types.js';
import { projectRoot } from '../../src/paths.js';
import { policyFrom } from './helpers.js';

const PHI_PRIMITIVES = new Set(['string', 'markdown', 'xhtml', 'base64Binary', 'date', 'dateTime', 'instant', 'uri', 'url', 'canonical']);
const DATES = new Set(['date', 'dateTime', 'instant']);
/** Where keeping a string or URL is allowed: terminology and structure, never data about a person. */
const KEEP_ALLOWED: { parent: string; names: string[] }[] = [
  { parent: 'Coding', names: ['display', 'version', 'system'] },
  { parent: 'Identifier', names: ['system'] },
  { parent: 'Reference', names: ['type'] },
  { parent: 'Meta', names: ['profile'] },
  { parent: 'Quantity', names: ['system'] },
  { parent: 'Duration', names: ['system'] },
  // Safe Harbor (B) allows the state; the country is coarser still.
  { parent: 'Address', names: ['state', 'country'] },
];
/**
 * CodeableConcept.text the mappings fill from ConceptMap displays only (`$translate ... $to CodeableConcept`),
 * kept by safe-harbor so views can tell session, note and consent kinds apart; test/deid/view-run.test.ts
 * checks that every such value in the demo data is a ConceptMap display.
 */
const MAPPED_LABELS = new Set(['Encounter.serviceType.text', 'DocumentReference.type.text', 'Consent.policyRule.text', 'RelatedPerson.relationship.text']);
const MAX_DEPTH = 9;

interface Finding {
  path: string;
  type: string;
  problem: string;
}

/** Walks every element of the policy's types and reports what is not covered. */
function check(policy: DeidPolicy): { findings: Finding[]; visited: Set<string> } {
  const findings: Finding[] = [];
  const visited = new Set<string>();
  for (const resourceType of policy.resourceTypes) {
    walk(policy, [resourceType], [resourceType], findings, visited);
  }
  return { findings, visited };
}

function walk(policy: DeidPolicy, names: string[], types: string[], findings: Finding[], visited: Set<string>): void {
  for (const element of elementsOf(types[types.length - 1])) {
    for (const type of element.types) {
      const n = [...names, element.name];
      const t = [...types, type];
      const path = n.join('.');
      visited.add(path);
      const rule = governingRule(policy, n, t);
      const method = rule?.rule.method;
      const parent = t[t.length - 2];
      const report = (problem: string): void => {
        findings.push({ path, type, problem });
      };
      if (type === 'Extension' || type === 'Resource') {
        if (method !== 'redact') {
          report(`${type === 'Resource' ? 'contained resources' : 'extensions'} must be redacted whole (governed by ${method ?? 'no rule'})`);
        }
        continue;
      }
      if (PHI_PRIMITIVES.has(type)) {
        if (!rule) {
          report('may hold PHI and has no rule');
        } else if (DATES.has(type) && method === 'keep') {
          report('a date must be shifted, generalized or redacted, not kept');
        } else if ((type === 'base64Binary' || type === 'xhtml') && method !== 'redact') {
          report(`must be redacted (governed by ${method})`);
        } else if (method === 'keep' && !KEEP_ALLOWED.some((a) => a.parent === parent && a.names.includes(element.name)) && !MAPPED_LABELS.has(path)) {
          report(`kept by "${rule.rule.path}", but keeping a ${type} is allowed only for terminology (Coding.display ...)`);
        }
        if (element.name === 'value' && parent === 'Identifier' && method !== 'cryptoHash' && method !== 'redact') {
          report(`identifier values must be pseudonymized or redacted (governed by ${method ?? 'no rule'})`);
        }
        if (element.name === 'reference' && parent === 'Reference' && method !== 'cryptoHash') {
          report(`references must be pseudonymized (governed by ${method ?? 'no rule'})`);
        }
        if (n.length === 2 && element.name === 'id' && method !== 'cryptoHash') {
          report(`resource ids must be pseudonymized (governed by ${method ?? 'no rule'})`);
        }
        continue;
      }
      // Complex: walk into it, once per type along a path (Identifier.assigner.identifier ... repeats).
      if (/^[A-Z]/.test(type) && !types.includes(type) && n.length < MAX_DEPTH) {
        walk(policy, n, t, findings, visited);
      }
    }
  }
}

/** Element paths of our profile snapshots (slices folded into their element, choices to their base name). */
function profilePaths(): { type: string; path: string }[] {
  const dir = join(projectRoot(), 'profiles');
  return readdirSync(dir)
    .filter((f) => f.startsWith('StructureDefinition-'))
    .flatMap((f) => {
      const sd = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { type: string; snapshot: { element: { path: string; max?: string }[] } };
      return sd.snapshot.element.filter((e) => e.max !== '0').map((e) => ({ type: sd.type, path: e.path.replace(/\[x\]/g, '') }));
    });
}

/** The resource types the mappings emit (the golden cases' expected output). */
function mappedTypes(): Set<string> {
  const root = join(projectRoot(), 'test', 'mapping-cases');
  const types = new Set<string>();
  for (const dir of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const file of readdirSync(join(root, dir.name))) {
      const suite = JSON.parse(readFileSync(join(root, dir.name, file), 'utf8')) as { cases: { expect?: { resourceType: string }[] }[] };
      suite.cases.forEach((c) => (c.expect ?? []).forEach((r) => types.add(r.resourceType)));
    }
  }
  return types;
}

describe.each(loadDeidPolicies().map((p) => [p.id, p] as const))('completeness of the shipped policy %s', (_id, policy) => {
  const result = check(policy);

  test('covers every type we hold: the profiles, what the mappings emit, the Patients and Practitioners referenced, Provenance and AuditEvent', () => {
    const needed = new Set([...profilePaths().map((p) => p.type), ...mappedTypes(), 'Patient', 'Practitioner', 'Provenance', 'AuditEvent']);
    expect([...needed].filter((t) => !policy.resourceTypes.has(t))).toEqual([]);
    expect(needed.size).toBeGreaterThanOrEqual(8);
  });

  test('every element that may hold PHI has a rule, and no rule keeps what must go', () => {
    expect(result.visited.size).toBeGreaterThan(2000); // the walk really went through the definitions
    expect(result.findings).toEqual([]);
  });

  test('every element of our profile snapshots was checked (or lies in a sealed extension or contained resource)', () => {
    const paths = profilePaths();
    expect(paths.length).toBeGreaterThan(300);
    const sealed = /\.(extension|modifierExtension|contained)(\.|$)/;
    const unchecked = paths.filter((p) => p.path.includes('.') && !result.visited.has(p.path) && !sealed.test(p.path));
    expect(unchecked).toEqual([]);
  });
});

test('the check can see: a policy without the name, free-text and date rules is reported element by element', () => {
  const weak = policyFrom({
    id: 'weak',
    resourceTypes: ['RelatedPerson'],
    fhirPathRules: [
      { path: 'Resource.id', method: 'cryptoHash' },
      { path: "nodesByType('Extension') | DomainResource.contained", method: 'redact' },
      { path: "nodesByType('HumanName').family", method: 'keep' },
      { path: "nodesByType('Identifier').value", method: 'keep' },
      { path: 'RelatedPerson.birthDate', method: 'keep' },
    ],
  });
  const { findings } = check(weak);
  const at = (path: string): string[] => findings.filter((f) => f.path === path).map((f) => f.problem);
  expect(at('RelatedPerson.name.given')).toEqual(['may hold PHI and has no rule']);
  expect(at('RelatedPerson.name.family')[0]).toMatch(/keeping a string is allowed only for terminology/);
  expect(at('RelatedPerson.identifier.value')).toEqual(expect.arrayContaining([expect.stringMatching(/identifier values must be pseudonymized/)]));
  expect(at('RelatedPerson.birthDate')).toEqual(['a date must be shifted, generalized or redacted, not kept']);
  expect(at('RelatedPerson.patient.reference')).toEqual(expect.arrayContaining([expect.stringMatching(/references must be pseudonymized/)]));
  expect(at('RelatedPerson.photo.data')).toEqual(['may hold PHI and has no rule']);
  expect(at('RelatedPerson.text.div')).toEqual(['may hold PHI and has no rule']);
});
