/**
 * Small helpers of the medplum-like suites: raw HTTP (status, headers and body as sent), minimal valid
 * resources, and Bundle entries with urn:uuid fullUrls as the sync builds them.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

export const SYS = 'https://collateral.example/ids';
const FHIR = 'application/fhir+json';

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

/** One HTTP request; `token` adds `Authorization: Bearer`. */
export async function send(
  method: string,
  url: string,
  body?: unknown,
  options: { token?: string; headers?: Record<string, string> } = {}
): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: {
      accept: FHIR,
      ...(body === undefined ? {} : { 'content-type': FHIR }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** A minimal valid resource of `type` with identifier `SYS|key`. */
export function sample(type: string, key: string, patientRef = 'Patient/p'): Resource {
  const identifier = [{ system: SYS, value: key }];
  const subject = { reference: patientRef };
  const r: Record<string, Record<string, unknown>> = {
    Patient: { identifier, name: [{ family: 'Test' }] },
    Practitioner: { identifier },
    Organization: { identifier, name: 'Example' },
    Encounter: { identifier, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject },
    RelatedPerson: { identifier, patient: subject },
    DocumentReference: {
      identifier,
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '34904-3' }] },
      subject,
      content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('x').toString('base64') } }],
    },
  };
  return { resourceType: type, ...r[type] } as Resource;
}

/** A Provenance of `targetRef` (a `Type/id` or a urn:uuid of the same Bundle). */
export function provenance(targetRef: string): Resource {
  return { resourceType: 'Provenance', target: [{ reference: targetRef }], recorded: '2026-01-01T00:00:00Z', agent: [{ who: { reference: 'Practitioner/t' } }] } as Resource;
}

/** A urn:uuid fullUrl. */
export function urn(): string {
  return `urn:uuid:${randomUUID()}`;
}

/** A create entry; `ifNoneExist` makes it conditional. */
export function createEntry(resource: Resource, fullUrl = urn(), ifNoneExist?: string): BundleEntry {
  return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType, ...(ifNoneExist ? { ifNoneExist } : {}) } };
}

/** A Bundle of that type. */
export function bundle(type: 'batch' | 'transaction', entry: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type, entry };
}

/** The `response.status` of every entry of a batch/transaction response. */
export function statuses(answer: Answer): string[] {
  return (answer.body.entry as BundleEntry[]).map((e) => e.response?.status ?? '');
}
