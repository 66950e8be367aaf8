/**
 * Dry run of records through the mappings and the profile pack: what FHIR resources each record
 * would become and every validation issue, without storing or sending anything. Behind the CLI
 * `map` command and POST /api/v1/$map.
 */
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { AnyRecord, ConsentRecord, NoteRecord, Participant, RecordKind, SessionRecord } from '../../domain/records.js';
import { mapRecord, type MappingConfig, type MappingContext, type MappingSet } from '../../mapping/index.js';
import { OperationOutcomeError, outputInvalid, toOutcome } from '../../outcomes.js';
import type { ProfilePack } from '../pack.js';
import { validateDeclared } from '../validate.js';

/** A record to map (already valid against its inbound schema). */
export interface DryRunInput {
  kind: RecordKind;
  record: AnyRecord;
  /** Its line in an NDJSON input: issue paths then point into the line (`/record/...`). */
  line?: number;
}

/** Finds a record the input refers to but does not contain (the store, for the service). */
export type RecordLookup = (kind: RecordKind, id: string) => Promise<AnyRecord | undefined>;

export interface DryRunDeps {
  mappings: MappingSet;
  pack: ProfilePack;
  config: MappingConfig;
  lookup?: RecordLookup;
}

/** One output resource and its validation against the profile it declares. */
export interface DryRunResource {
  resourceType: string;
  /** `system|value`: the identifier the sync would upsert it by. */
  key: string;
  write: string;
  profile?: string;
  valid: boolean;
  issues: OperationOutcomeIssue[];
  resource: Resource;
}

/** The dry run of one record. */
export interface DryRunResult {
  line?: number;
  /** Absent only for input that is not a record at all. */
  kind?: RecordKind;
  id?: string;
  /** valid: mapped and every resource valid; invalid: mapped, some resource fails its profile; rejected: not mapped. */
  status: 'valid' | 'invalid' | 'rejected';
  /** `mappingId@version` */
  mapping?: string;
  resources?: DryRunResource[];
  /** Why it was rejected, or every profile error of its resources. */
  outcome?: OperationOutcome;
}

/**
 * Maps and validates each input. A record's dependencies (a session's participants, a consent's
 * recipients and signer, a note's session) are taken from the input first, then from `lookup`.
 * @returns One result per input, in order.
 */
export async function dryRun(inputs: DryRunInput[], deps: DryRunDeps): Promise<DryRunResult[]> {
  const given = new Map(inputs.map((i) => [`${i.kind}/${i.record.id}`, i.record]));
  const find = async (kind: RecordKind, id: string): Promise<AnyRecord | undefined> =>
    given.get(`${kind}/${id}`) ?? (await deps.lookup?.(kind, id));
  const results: DryRunResult[] = [];
  for (const input of inputs) {
    results.push(await dryRunOne(input, await contextFor(input, find, deps.config), deps));
  }
  return results;
}

async function dryRunOne(input: DryRunInput, context: MappingContext, deps: DryRunDeps): Promise<DryRunResult> {
  const base = { ...(input.line !== undefined ? { line: input.line } : {}), kind: input.kind, id: input.record.id };
  let mapped;
  try {
    mapped = mapRecord(deps.mappings, input.kind, input.record, context);
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) {
      throw err;
    }
    return { ...base, status: 'rejected', outcome: inLine(toOutcome(err), input.line) };
  }
  const resources: DryRunResource[] = mapped.resources.map((m) => {
    const issues = validateDeclared(m.resource, deps.pack);
    return {
      resourceType: m.resource.resourceType,
      key: `${m.key.system}|${m.key.value}`,
      write: m.write,
      profile: m.resource.meta?.profile?.[0],
      valid: !issues.some(isError),
      issues,
      resource: m.resource,
    };
  });
  const errors = resources.flatMap((r) => r.issues.filter(isError));
  return {
    ...base,
    status: errors.length > 0 ? 'invalid' : 'valid',
    mapping: `${mapped.mappingId}@${mapped.mappingVersion}`,
    resources,
    ...(errors.length > 0 ? { outcome: inLine(outputInvalid(errors), input.line) } : {}),
  };
}

/** The mapping context of a record, as the sync builds it (src/sync/context.ts), from the input and lookup. */
async function contextFor(
  input: DryRunInput,
  find: (kind: RecordKind, id: string) => Promise<AnyRecord | undefined>,
  config: MappingConfig
): Promise<MappingContext> {
  const context: MappingContext = { config };
  if (input.kind === 'session' || input.kind === 'consent') {
    const participants: Record<string, Participant> = {};
    for (const id of participantIds(input)) {
      const p = (await find('participant', id)) as Participant | undefined;
      if (p) {
        participants[id] = p;
      }
    }
    context.participants = participants;
  } else if (input.kind === 'note') {
    const session = (await find('session', (input.record as NoteRecord).sessionId)) as SessionRecord | undefined;
    if (session) {
      context.session = session;
    }
  }
  return context;
}

function participantIds(input: DryRunInput): string[] {
  if (input.kind === 'session') {
    return (input.record as SessionRecord).participants.map((p) => p.participantId);
  }
  const consent = input.record as ConsentRecord;
  return [...consent.recipients, ...(consent.signedBy?.participantId ? [consent.signedBy.participantId] : [])];
}

/** For an NDJSON line: input paths point into the line (`/record/purposes/1`), messages name the line. */
function inLine(outcome: OperationOutcome, line: number | undefined): OperationOutcome {
  if (line === undefined) {
    return outcome;
  }
  return {
    ...outcome,
    issue: (outcome.issue ?? []).map((i) => ({
      ...i,
      details: { ...i.details, text: `line ${line}: ${i.details?.text ?? ''}` },
      ...(i.expression ? { expression: i.expression.map((e) => (e.startsWith('/') || e === '' ? `/record${e}` : e)) } : {}),
    })),
  };
}

function isError(i: OperationOutcomeIssue): boolean {
  return i.severity === 'error' || i.severity === 'fatal';
}
