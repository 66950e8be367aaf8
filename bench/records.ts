/**
 * Synthetic benchmark data from the example dataset (examples/): each benchmark client copies one of
 * the three example clients (round robin) with its own MRN and its own record ids, so every record is
 * as valid, consented and interlinked as the examples are.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { projectRoot } from '../src/paths.js';

export interface ImportLine {
  kind: 'participant' | 'consent' | 'session' | 'note';
  record: Record<string, unknown> & { id: string };
}

/** The examples' MRN system (examples/README.md), also the service's default MRN_SYSTEM. */
const MRN_SYSTEM = 'https://fhir.example-hospital.org/sid/mrn';

const KIND_ORDER: ImportLine['kind'][] = ['participant', 'consent', 'session', 'note'];

export interface Dataset {
  lines: ImportLine[];
  /** The clients' Patients and the therapists' Practitioners the target must hold. */
  seed: Bundle;
  clients: number;
}

/**
 * Builds the dataset.
 * @param clients - Number of benchmark clients (about 15 records each).
 * @returns The import lines (kind by kind, clients interleaved, like examples/records.ndjson) and the seed.
 */
export function buildDataset(clients: number): Dataset {
  const root = projectRoot();
  const examples = readFileSync(join(root, 'examples', 'records.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ImportLine);
  const exampleSeed = JSON.parse(readFileSync(join(root, 'examples', 'fhir-seed.json'), 'utf8')) as Bundle;

  const templates = groupByClient(examples);
  const mrns = [...templates.keys()];
  const copies: ImportLine[] = [];
  const patients: Bundle['entry'] = [];
  for (let i = 0; i < clients; i++) {
    const mrn = mrns[i % mrns.length];
    const newMrn = `MRN-B${String(i).padStart(5, '0')}`;
    const rename = new Map<string, string>([[mrn, newMrn]]);
    for (const line of templates.get(mrn) ?? []) {
      rename.set(line.record.id, `${line.record.id}-b${i}`);
    }
    copies.push(...(templates.get(mrn) ?? []).map((line) => replaceStrings(line, rename)));
    const example = exampleSeed.entry?.find((e) => e.resource?.resourceType === 'Patient' && JSON.stringify(e.resource).includes(`"${mrn}"`));
    if (example?.resource) {
      const resource = replaceStrings(example.resource, new Map([[mrn, newMrn]]));
      patients.push({ resource, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${MRN_SYSTEM}|${newMrn}` } });
    }
  }
  const practitioners = (exampleSeed.entry ?? []).filter((e) => e.resource?.resourceType === 'Practitioner');
  const lines = KIND_ORDER.flatMap((kind) => copies.filter((l) => l.kind === kind));
  return { lines, seed: { resourceType: 'Bundle', type: 'transaction', entry: [...patients, ...practitioners] }, clients };
}

/**
 * The same synthetic clients as buildDataset, one client's lines at a time (participants, consents,
 * sessions, notes), without holding the dataset in memory: for files of a million lines.
 * @param clients - how many clients (about 15 lines each).
 */
export function* datasetLines(clients: number): Generator<ImportLine> {
  const examples = readFileSync(join(projectRoot(), 'examples', 'records.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ImportLine);
  const templates = groupByClient(examples);
  const mrns = [...templates.keys()];
  for (let i = 0; i < clients; i++) {
    const mrn = mrns[i % mrns.length];
    const rename = new Map<string, string>([[mrn, `MRN-B${String(i).padStart(7, '0')}`]]);
    const lines = templates.get(mrn) ?? [];
    for (const line of lines) {
      rename.set(line.record.id, `${line.record.id}-b${i}`);
    }
    for (const kind of KIND_ORDER) {
      yield* lines.filter((l) => l.kind === kind).map((l) => replaceStrings(l, rename));
    }
  }
}

/** The example lines of each client MRN; a note belongs to the client of its session. */
function groupByClient(lines: ImportLine[]): Map<string, ImportLine[]> {
  const sessionClient = new Map<string, string>();
  for (const l of lines) {
    if (l.kind === 'session') {
      sessionClient.set(l.record.id, (l.record.client as { mrn: string }).mrn);
    }
  }
  const byClient = new Map<string, ImportLine[]>();
  for (const l of lines) {
    const mrn = l.kind === 'note' ? sessionClient.get(l.record.sessionId as string) : (l.record.client as { mrn?: string } | undefined)?.mrn;
    if (mrn) {
      byClient.set(mrn, [...(byClient.get(mrn) ?? []), l]);
    }
  }
  return byClient;
}

/** A deep copy in which every string equal to a key of `rename` is replaced (ids, MRNs, references). */
function replaceStrings<T>(value: T, rename: Map<string, string>): T {
  if (typeof value === 'string') {
    return (rename.get(value) ?? value) as T;
  }
  if (Array.isArray(value)) {
    return value.map((v: unknown) => replaceStrings(v, rename)) as T;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, replaceStrings(v, rename)])
    ) as T;
  }
  return value;
}

/** The FHIR resource types the sync writes (Patients come from the seed and are not counted). */
export const WRITTEN_TYPES = ['RelatedPerson', 'Practitioner', 'Consent', 'Encounter', 'DocumentReference', 'Provenance', 'Organization', 'Device'];
