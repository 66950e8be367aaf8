/**
 * The signed release-of-information form as a DocumentReference (LOINC 64292-6 "Release of information
 * consent", category LOINC 57016-8 as in HL7 FAST), for targets that write DocumentReference but not
 * Consent (Epic, Oracle: docs/fhir-mapping.md#what-each-target-profile-accepts). Sent only when SYNC_ROI_DOCUMENT is on
 * and the consent record carries its form. Built here rather than as a mapping file because it is a
 * delivery option, not a mapping of the record's meaning; the Consent mapping is unchanged.
 */
import type { DocumentReference } from '@medplum/fhirtypes';
import type { ConsentRecord } from '../domain/records.js';
import type { MappedResource } from '../mapping/index.js';
import type { RecordToMap } from './context.js';

const LOINC = 'http://loinc.org';

export function roiFormDocument(item: RecordToMap, ns: string, mrnSystem: string): MappedResource[] {
  if (item.record.kind !== 'consent') {
    return [];
  }
  const consent = item.record.body as ConsentRecord;
  if (!consent.form?.data) {
    return [];
  }
  const key = { system: `${ns}/sid/roi-form`, value: consent.id };
  const resource: DocumentReference = {
    resourceType: 'DocumentReference',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R', display: 'restricted' }] },
    identifier: [key],
    status: 'current',
    docStatus: 'final',
    type: { coding: [{ system: LOINC, code: '64292-6', display: 'Release of information consent' }] },
    category: [{ coding: [{ system: LOINC, code: '57016-8', display: 'Privacy policy acknowledgment Document' }] }],
    subject: { reference: `Patient?identifier=${mrnSystem}|${consent.client.mrn}` },
    ...(consent.signedAt ? { date: consent.signedAt } : {}),
    description: 'Signed release-of-information authorization',
    content: [
      {
        attachment: {
          contentType: consent.form.contentType,
          data: consent.form.data,
          title: consent.form.title ?? 'Release of information authorization',
          ...(consent.signedAt ? { creation: consent.signedAt } : {}),
        },
      },
    ],
    // Where the target holds our Consent, the form points at it; elsewhere this is left out.
    context: { related: [{ reference: `Consent?identifier=${ns}/sid/roi|${consent.id}` }] },
  };
  return [{ resource, key, write: 'upsert', sourceKind: 'consent', sourceId: consent.id }];
}
