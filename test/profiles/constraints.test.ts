/**
 * Every constraint of the profile pack, proven by a resource that breaks it: the valid resource of the
 * profile passes, the broken one fails with an issue at the expected FHIR path. A last test checks that
 * every invariant and every constrained element of every profile is proven here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { projectRoot } from '../../src/paths.js';
import { validateAgainstProfile } from '../../src/profiles/validate.js';
import { broken, CANONICAL, pack, validResources } from './helpers.js';

interface Breach {
  /** What it proves: invariant keys and element ids of the profile. */
  proves: string[];
  title: string;
  change: (r: any) => void;
  /** The issue it must cause: FHIR path and a part of the message. */
  expression: string;
  text: string;
}

const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const TAG = `${CANONICAL}/CodeSystem/mapping-version`;

/** meta.tag and meta breaches shared by every mapped profile. */
function metaBreaches(type: string, tagKey: string): Breach[] {
  return [
    { proves: [`${type}.meta`], title: 'no meta at all', change: (r) => delete r.meta, expression: `${type}.meta`, text: 'Missing required property' },
    {
      proves: [`${type}.meta.tag`, `${type}.meta.tag:mappingVersion`, `${type}.meta.tag:mappingVersion.system`],
      title: 'mapping-version tag of another system',
      change: (r) => (r.meta.tag = [{ system: 'urn:other', code: 'x' }]),
      expression: `${type}.meta.tag`,
      text: `slice 'mappingVersion': expected 1..1, but found 0: 'mappingVersion' has system = ${TAG}`,
    },
    {
      proves: [tagKey, `${type}.meta.tag:mappingVersion.code`],
      title: 'mapping-version tag that is not <id>@<semver>',
      change: (r) => (r.meta.tag = [{ system: TAG, code: 'latest' }]),
      expression: type,
      text: `Constraint ${tagKey} not met`,
    },
  ];
}

function securityBreaches(type: string, key: string): Breach[] {
  return [
    {
      proves: [`${type}.meta.security`, `${type}.meta.security:restricted`],
      title: 'no restricted confidentiality label',
      change: (r) => (r.meta.security = r.meta.security.filter((c: any) => c.code !== 'R')),
      expression: `${type}.meta.security`,
      text: `slice 'restricted': expected 1..1, but found 0: 'restricted' is a Coding ${CONF}|R`,
    },
    {
      proves: [`${type}.meta.security:behavioralHealth`],
      title: 'no behavioral-health label',
      change: (r) => (r.meta.security = r.meta.security.filter((c: any) => c.code !== 'BH')),
      expression: `${type}.meta.security`,
      text: `slice 'behavioralHealth': expected 1..1, but found 0: 'behavioralHealth' is a Coding ${ACT}|BH`,
    },
    {
      proves: [key],
      title: 'two confidentiality codes',
      change: (r) => r.meta.security.push({ system: CONF, code: 'V' }),
      expression: type,
      text: `Constraint ${key} not met`,
    },
  ];
}

function identifierBreaches(type: string, slice: string, valueKey: string): Breach[] {
  return [
    {
      proves: [`${type}.identifier`],
      title: 'no identifier',
      change: (r) => delete r.identifier,
      expression: `${type}.identifier`,
      text: 'Missing required property',
    },
    {
      proves: [`${type}.identifier:${slice}`, `${type}.identifier:${slice}.system`],
      title: 'our identifier under another system',
      change: (r) => (r.identifier[0].system = 'urn:other'),
      expression: `${type}.identifier`,
      text: `slice '${slice}': expected 1..1, but found 0`,
    },
    {
      proves: [valueKey, `${type}.identifier:${slice}.value`],
      title: 'our identifier without a value',
      change: (r) => delete r.identifier[0].value,
      expression: type,
      text: `Constraint ${valueKey} not met`,
    },
  ];
}

const BREACHES: Record<string, Breach[]> = {
  'collateral-encounter': [
    ...metaBreaches('Encounter', 'cen-6'),
    ...securityBreaches('Encounter', 'cen-5'),
    ...identifierBreaches('Encounter', 'session', 'cen-7'),
    {
      proves: ['cen-8'],
      title: 'a Part 2 label without the no-redisclosure refrain',
      change: (r) => r.meta.security.push({ system: ACT, code: '42CFRPart2' }),
      expression: 'Encounter',
      text: 'Constraint cen-8 not met',
    },
    { proves: ['cen-1', 'Encounter.subject'], title: 'a Group as subject', change: (r) => (r.subject = { reference: 'Group/1' }), expression: 'Encounter', text: 'Constraint cen-1 not met' },
    { proves: ['Encounter.subject'], title: 'no subject', change: (r) => delete r.subject, expression: 'Encounter.subject', text: 'Missing required property' },
    { proves: ['cen-2'], title: 'no primary performer', change: (r) => r.participant.shift(), expression: 'Encounter', text: 'Constraint cen-2 not met' },
    {
      proves: ['cen-2'],
      title: 'a RelatedPerson as primary performer',
      change: (r) => (r.participant[0].individual.reference = 'RelatedPerson/x'),
      expression: 'Encounter',
      text: 'Constraint cen-2 not met',
    },
    { proves: ['cen-3'], title: 'a participant without an individual', change: (r) => delete r.participant[1].individual, expression: 'Encounter', text: 'Constraint cen-3 not met' },
    { proves: ['cen-4'], title: 'length in hours', change: (r) => (r.length = { value: 1, unit: 'h', system: 'http://unitsofmeasure.org', code: 'h' }), expression: 'Encounter', text: 'Constraint cen-4 not met' },
    { proves: ['cen-4'], title: 'length without an end', change: (r) => delete r.period.end, expression: 'Encounter', text: 'Constraint cen-4 not met' },
    { proves: ['Encounter.class'], title: 'class outside v3-ActCode', change: (r) => (r.class = { system: 'urn:local', code: 'AMB' }), expression: 'Encounter.class', text: 'expected a Coding from http://terminology.hl7.org/CodeSystem/v3-ActCode' },
    { proves: ['Encounter.type', 'Encounter.type:snomed'], title: 'CPT only', change: (r) => r.type.pop(), expression: 'Encounter.type', text: "slice 'snomed': expected 1..1" },
    { proves: ['Encounter.type:cpt'], title: 'SNOMED CT only, twice', change: (r) => (r.type = [r.type[1], r.type[1]]), expression: 'Encounter.type', text: "slice 'cpt': expected 1..1, but found 0: 'cpt' is a CodeableConcept with coding from http://www.ama-assn.org/go/cpt" },
    { proves: ['Encounter.serviceType'], title: 'no service type', change: (r) => delete r.serviceType, expression: 'Encounter.serviceType', text: 'Missing required property' },
    { proves: ['Encounter.serviceType'], title: 'service type of another system', change: (r) => (r.serviceType = { coding: [{ system: 'urn:x', code: '71' }] }), expression: 'Encounter.serviceType', text: 'expected a CodeableConcept with coding from http://terminology.hl7.org/CodeSystem/service-type' },
    { proves: ['Encounter.participant'], title: 'no participant', change: (r) => delete r.participant, expression: 'Encounter.participant', text: 'Missing required property' },
    { proves: ['Encounter.period'], title: 'no period', change: (r) => { delete r.period; delete r.length; }, expression: 'Encounter.period', text: 'Missing required property' },
    { proves: ['Encounter.period.start'], title: 'no start', change: (r) => delete r.period.start, expression: 'Encounter.period.start', text: 'Missing required property' },
  ],
  'collateral-consent': [
    ...metaBreaches('Consent', 'ccn-7'),
    ...identifierBreaches('Consent', 'roi', 'ccn-8'),
    { proves: ['ccn-1'], title: 'a privacy consent without a patient (R4 ppc-2 never fires)', change: (r) => delete r.patient, expression: 'Consent', text: 'Constraint ccn-1 not met' },
    { proves: ['ccn-2'], title: 'a deny provision', change: (r) => (r.provision.type = 'deny'), expression: 'Consent', text: 'Constraint ccn-2 not met' },
    { proves: ['ccn-3'], title: 'a recipient that is not IRCP', change: (r) => (r.provision.actor[0].role.coding[0].code = 'INF'), expression: 'Consent', text: 'Constraint ccn-3 not met' },
    { proves: ['ccn-3'], title: 'no recipient', change: (r) => delete r.provision.actor, expression: 'Consent', text: 'Constraint ccn-3 not met' },
    { proves: ['ccn-4'], title: 'inactive (revoked) with an open provision', change: (r) => { r.status = 'inactive'; delete r.provision.period.end; }, expression: 'Consent', text: 'Constraint ccn-4 not met' },
    {
      proves: ['ccn-5'],
      title: '42 CFR Part 2 without its labels',
      change: (r) => (r.policy = [{ uri: 'https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2' }]),
      expression: 'Consent',
      text: 'Constraint ccn-5 not met',
    },
    {
      proves: ['ccn-9'],
      title: 'a provision.code that is no data class (a LOINC code alone)',
      change: (r) => (r.provision.code = [{ coding: [{ system: 'http://loinc.org', code: '11506-3' }] }]),
      expression: 'Consent',
      text: 'Constraint ccn-9 not met',
    },
    { proves: ['ccn-6'], title: 'a nested permit', change: (r) => (r.provision.provision[0].type = 'permit'), expression: 'Consent', text: 'Constraint ccn-6 not met' },
    { proves: ['Consent.scope'], title: 'a treatment scope', change: (r) => (r.scope.coding[0].code = 'treatment'), expression: 'Consent.scope', text: 'expected a CodeableConcept with coding http://terminology.hl7.org/CodeSystem/consentscope|patient-privacy' },
    { proves: ['Consent.category', 'Consent.category:releaseOfInformation'], title: 'a general consent category', change: (r) => (r.category[0].coding[0].code = '59284-0'), expression: 'Consent.category', text: "slice 'releaseOfInformation': expected 1..1, but found 0: 'releaseOfInformation' is a CodeableConcept with coding http://loinc.org|64292-6" },
    { proves: ['Consent.performer'], title: 'nobody signed', change: (r) => delete r.performer, expression: 'Consent.performer', text: 'Missing required property' },
    { proves: ['Consent.policyRule'], title: 'no policy rule (a policy uri instead)', change: (r) => { delete r.policyRule; r.policy = [{ uri: 'https://example.org/roi' }]; }, expression: 'Consent.policyRule', text: 'Missing required property' },
    { proves: ['Consent.policyRule'], title: 'a policy rule of another system', change: (r) => (r.policyRule = { coding: [{ system: 'urn:x', code: 'hipaa-auth' }] }), expression: 'Consent.policyRule', text: 'expected a CodeableConcept with coding from http://terminology.hl7.org/CodeSystem/consentpolicycodes' },
    { proves: ['Consent.provision'], title: 'no provision', change: (r) => delete r.provision, expression: 'Consent.provision', text: 'Missing required property' },
  ],
  'collateral-related-person': [
    ...metaBreaches('RelatedPerson', 'crp-5'),
    ...identifierBreaches('RelatedPerson', 'collateralContact', 'crp-1'),
    { proves: ['crp-1'], title: 'our identifier without the client MRN', change: (r) => (r.identifier[0].value = 'p-001'), expression: 'RelatedPerson', text: 'Constraint crp-1 not met' },
    { proves: ['crp-2'], title: 'inactive without period.end', change: (r) => (r.active = false), expression: 'RelatedPerson', text: 'Constraint crp-2 not met' },
    { proves: ['crp-3'], title: 'patient is not a Patient', change: (r) => (r.patient.reference = 'Group/1'), expression: 'RelatedPerson', text: 'Constraint crp-3 not met' },
    { proves: ['crp-4'], title: 'a relationship code of an undeclared system', change: (r) => (r.relationship[0].coding[0].system = 'urn:local'), expression: 'RelatedPerson', text: 'Constraint crp-4 not met' },
    { proves: ['RelatedPerson.active'], title: 'active not given', change: (r) => delete r.active, expression: 'RelatedPerson.active', text: 'Missing required property' },
    { proves: ['RelatedPerson.relationship'], title: 'no relationship', change: (r) => delete r.relationship, expression: 'RelatedPerson.relationship', text: 'Missing required property' },
  ],
  'collateral-practitioner': [
    ...metaBreaches('Practitioner', 'cpr-2'),
    // The valid one is keyed by its NPI alone (one Practitioner for every client); our per-client identifier only without an NPI.
    { proves: ['Practitioner.identifier'], title: 'no identifier', change: (r) => delete r.identifier, expression: 'Practitioner.identifier', text: 'Missing required property' },
    { proves: ['cpr-4'], title: 'neither our identifier nor an NPI', change: (r) => (r.identifier[0].system = 'urn:other'), expression: 'Practitioner', text: 'Constraint cpr-4 not met' },
    {
      proves: ['cpr-3', 'Practitioner.identifier:collateralContact.value'],
      title: 'our identifier without a value',
      change: (r) => r.identifier.push({ system: 'https://fhir.example-practice.org/sid/collateral-contact' }),
      expression: 'Practitioner',
      text: 'Constraint cpr-3 not met',
    },
    {
      proves: ['Practitioner.identifier:collateralContact', 'Practitioner.identifier:collateralContact.system'],
      title: 'two of our identifiers',
      change: (r) => r.identifier.push(...['p-1:MRN-1', 'p-2:MRN-1'].map((value) => ({ system: 'https://fhir.example-practice.org/sid/collateral-contact', value }))),
      expression: 'Practitioner.identifier',
      text: "slice 'collateralContact': expected 0..1, but found 2",
    },
    { proves: ['cpr-1'], title: 'an NPI of 9 digits', change: (r) => (r.identifier[0].value = '149775854'), expression: 'Practitioner', text: 'Constraint cpr-1 not met' },
    { proves: ['Practitioner.identifier:npi', 'Practitioner.identifier:npi.system', 'Practitioner.identifier:npi.value'], title: 'two NPIs', change: (r) => r.identifier.push({ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }), expression: 'Practitioner.identifier', text: "slice 'npi': expected 0..1, but found 2" },
  ],
  'collateral-session-note': [
    ...metaBreaches('DocumentReference', 'csn-7'),
    ...securityBreaches('DocumentReference', 'csn-6'),
    ...identifierBreaches('DocumentReference', 'note', 'csn-8'),
    {
      proves: ['csn-9'],
      title: 'a Part 2 label without the no-redisclosure refrain',
      change: (r) => {
        r.meta.security.push({ system: ACT, code: '42CFRPart2' });
        r.securityLabel.push({ coding: [{ system: ACT, code: '42CFRPart2' }] });
      },
      expression: 'DocumentReference',
      text: 'Constraint csn-9 not met',
    },
    { proves: ['csn-1'], title: 'a psychotherapy-note label', change: (r) => { r.meta.security.push({ system: ACT, code: 'PSYTHPN' }); r.securityLabel.push({ coding: [{ system: ACT, code: 'PSYTHPN' }] }); }, expression: 'DocumentReference', text: 'Constraint csn-1 not met' },
    { proves: ['csn-2'], title: 'the text by URL instead of inline', change: (r) => { delete r.content[0].attachment.data; r.content[0].attachment.url = 'https://practice.example/notes/1'; }, expression: 'DocumentReference', text: 'Constraint csn-2 not met' },
    { proves: ['csn-2'], title: 'inline text without its hash', change: (r) => delete r.content[0].attachment.hash, expression: 'DocumentReference', text: 'Constraint csn-2 not met' },
    { proves: ['csn-3'], title: 'a meta.security label missing from securityLabel', change: (r) => r.securityLabel.pop(), expression: 'DocumentReference', text: 'Constraint csn-3 not met' },
    { proves: ['csn-4'], title: 'no encounter', change: (r) => delete r.context.encounter, expression: 'DocumentReference', text: 'Constraint csn-4 not met' },
    { proves: ['csn-5'], title: 'entered-in-error but docStatus final', change: (r) => (r.status = 'entered-in-error'), expression: 'DocumentReference', text: 'Constraint csn-5 not met' },
    { proves: ['csn-5'], title: 'a Group as subject', change: (r) => (r.subject.reference = 'Group/1'), expression: 'DocumentReference', text: 'Constraint csn-5 not met' },
    { proves: ['DocumentReference.docStatus'], title: 'no docStatus', change: (r) => delete r.docStatus, expression: 'DocumentReference.docStatus', text: 'Missing required property' },
    { proves: ['DocumentReference.type'], title: 'no type', change: (r) => delete r.type, expression: 'DocumentReference.type', text: 'Missing required property' },
    { proves: ['DocumentReference.type'], title: 'a type outside LOINC', change: (r) => (r.type = { coding: [{ system: 'urn:local', code: 'note' }] }), expression: 'DocumentReference.type', text: 'expected a CodeableConcept with coding from http://loinc.org' },
    { proves: ['DocumentReference.category', 'DocumentReference.category:clinicalNote'], title: 'no clinical-note category', change: (r) => (r.category[0].coding[0].code = 'other'), expression: 'DocumentReference.category', text: "slice 'clinicalNote': expected 1..1" },
    { proves: ['DocumentReference.subject'], title: 'no subject', change: (r) => delete r.subject, expression: 'DocumentReference.subject', text: 'Missing required property' },
    { proves: ['DocumentReference.author'], title: 'no author', change: (r) => delete r.author, expression: 'DocumentReference.author', text: 'Missing required property' },
    { proves: ['DocumentReference.securityLabel', 'DocumentReference.securityLabel:restricted'], title: 'securityLabel without R', change: (r) => r.securityLabel.shift(), expression: 'DocumentReference.securityLabel', text: "slice 'restricted': expected 1..1" },
    { proves: ['DocumentReference.securityLabel:behavioralHealth'], title: 'securityLabel without BH', change: (r) => r.securityLabel.splice(1, 1), expression: 'DocumentReference.securityLabel', text: "slice 'behavioralHealth': expected 1..1" },
    { proves: ['DocumentReference.content'], title: 'two contents', change: (r) => r.content.push(structuredClone(r.content[0])), expression: 'DocumentReference.content', text: 'expected 1..1, but found 2' },
    { proves: ['DocumentReference.context'], title: 'no context', change: (r) => delete r.context, expression: 'DocumentReference.context', text: 'Missing required property' },
  ],
  'sync-provenance': [
    { proves: ['spv-1'], title: 'no transmitter or assembler', change: (r) => (r.agent[1].type.coding[0].code = 'performer'), expression: 'Provenance', text: 'Constraint spv-1 not met' },
    { proves: ['spv-2'], title: 'a Device agent on behalf of nobody', change: (r) => delete r.agent[1].onBehalfOf, expression: 'Provenance', text: 'Constraint spv-2 not met' },
    { proves: ['spv-3'], title: 'no source entity', change: (r) => (r.entity[0].role = 'derivation'), expression: 'Provenance', text: 'Constraint spv-3 not met' },
    { proves: ['spv-4'], title: 'a policy that is not a Consent', change: (r) => (r.policy = ['Patient/1']), expression: 'Provenance', text: 'Constraint spv-4 not met' },
    { proves: ['spv-5'], title: 'two authors', change: (r) => r.agent.push(structuredClone(r.agent[0])), expression: 'Provenance', text: 'Constraint spv-5 not met' },
    { proves: ['Provenance.activity'], title: 'no activity', change: (r) => delete r.activity, expression: 'Provenance.activity', text: 'Missing required property' },
    { proves: ['Provenance.activity'], title: 'activity outside v3-DataOperation', change: (r) => (r.activity.coding[0].system = 'urn:x'), expression: 'Provenance.activity', text: 'expected a CodeableConcept with coding from http://terminology.hl7.org/CodeSystem/v3-DataOperation' },
    { proves: ['Provenance.agent'], title: 'only the author', change: (r) => r.agent.pop(), expression: 'Provenance.agent', text: 'expected 2..*, but found 1' },
    { proves: ['Provenance.entity'], title: 'no entity', change: (r) => delete r.entity, expression: 'Provenance.entity', text: 'Missing required property' },
  ],
};

const valid = validResources();

function issuesOf(profileId: string, resource: Resource): OperationOutcomeIssue[] {
  const profile = pack().get(`${CANONICAL}/StructureDefinition/${profileId}`);
  if (!profile) {
    throw new Error(`no profile ${profileId}`);
  }
  return validateAgainstProfile(resource, profile);
}

describe.each(Object.keys(BREACHES))('%s', (profileId) => {
  test('its valid resource passes without errors', () => {
    expect(issuesOf(profileId, valid[profileId]).filter((i) => i.severity === 'error')).toEqual([]);
  });

  test.each(BREACHES[profileId].map((b) => [b.title, b] as const))('%s', (_title, b) => {
    const issues = issuesOf(profileId, broken(valid[profileId], b.change));
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ severity: 'error', expression: [b.expression], details: { text: expect.stringContaining(b.text) } }),
      ])
    );
  });
});

test('every invariant and every constrained element of every profile is proven above', () => {
  const unproven: string[] = [];
  for (const profile of pack().profiles) {
    const id = profile.url.slice(profile.url.lastIndexOf('/') + 1);
    const proven = new Set((BREACHES[id] ?? []).flatMap((b) => b.proves));
    const root = profile.elements[0];
    const keys = (root.constraint ?? []).filter((c) => c.source === profile.url).map((c) => c.key as string);
    // Elements the differential constrains (cardinality, pattern, slicing), bindings aside: medplum does not check them.
    const constrained = profile.elements
      .slice(1)
      .filter((e) => e.id && diffIds(profile.url).has(e.id))
      .filter((e) => Object.keys(e).some((k) => k.startsWith('pattern') || k === 'slicing' || k === 'sliceName') || (e.min ?? 0) > (e.base?.min ?? 0) || (e.max !== e.base?.max && !e.sliceName))
      .map((e) => e.id as string);
    unproven.push(...[...keys, ...constrained].filter((k) => !proven.has(k)).map((k) => `${id}: ${k}`));
  }
  expect(unproven).toEqual([]);
});

function diffIds(url: string): Set<string> {
  const profile = pack().profiles.find((p) => p.url === url);
  return new Set(profile ? differentialIds(profile.file) : []);
}

function differentialIds(file: string): string[] {
  // The differential is what the profile says; the snapshot also holds everything it inherits.
  const sd = JSON.parse(readFileSync(join(projectRoot(), file), 'utf8'));
  return (sd.differential?.element ?? []).map((e: { id: string }) => e.id);
}
