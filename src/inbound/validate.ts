/**
 * Inbound validation of the v1 contract (docs/contract.md): the JSON Schema of each kind
 * (schemas/inbound) first, then the cross-field rules (./semantic.ts). Every problem is reported at
 * once, each with a JSON Pointer to the offending field, in one OperationOutcomeError(inputInvalid).
 */
import type { ConsentRecord, NoteRecord, Participant, RecordKind, SessionRecord } from '../domain/records.js';
import { isRecordKind, RECORD_KINDS } from '../domain/records.js';
import { fail, inputInvalid, type Problem } from '../outcomes.js';
import { ajvProblems } from './ajv-problems.js';
import { importLineValidator, recordValidator } from './schemas.js';
import { semanticProblems } from './semantic.js';

/** The record type of each kind. */
export interface RecordByKind {
  participant: Participant;
  consent: ConsentRecord;
  session: SessionRecord;
  note: NoteRecord;
}

/** A parsed, valid import line. Narrow on `kind` to get the record's type. */
export type ImportLine = { [K in RecordKind]: { kind: K; record: RecordByKind[K] } }[RecordKind];

function problemsOf(kind: RecordKind, body: unknown, at: string): Problem[] {
  const validate = recordValidator(kind);
  const schemaProblems = validate(body) ? [] : ajvProblems(validate.errors, at);
  return [...schemaProblems, ...semanticProblems(kind, body, at)];
}

/**
 * Validates one inbound record against the v1 contract and returns it typed.
 * @param kind - participant, consent, session or note.
 * @param body - the parsed request body, of any shape.
 * @returns the same value, typed as the record of that kind.
 * @throws OperationOutcomeError(inputInvalid(problems)) listing every problem, each with the JSON
 * Pointer of the field (`/client/mrn`); the record root is the empty pointer. Nothing else is thrown.
 */
export function validateRecord<K extends RecordKind>(kind: K, body: unknown): RecordByKind[K] {
  if (!isRecordKind(kind)) {
    // Callers from plain JavaScript (or a route parameter) can pass anything.
    fail(inputInvalid([{ path: '', message: `the record kind must be one of: ${RECORD_KINDS.join(', ')}` }]));
  }
  const problems = problemsOf(kind, body, '');
  if (problems.length > 0) {
    fail(inputInvalid(problems));
  }
  return body as RecordByKind[K];
}

/**
 * Parses and validates one NDJSON import line, `{"kind": "...", "record": {...}}`.
 * Blank lines are the caller's to skip; here they are an error like any other bad line.
 * @param line - the text of the line (a trailing CR and a leading byte-order mark are tolerated).
 * @param lineNumber - its 1-based number in the file, used in messages.
 * @returns the kind and the typed record.
 * @throws OperationOutcomeError(inputInvalid(problems)): paths point into the line (`/record/client/mrn`,
 * `/kind`), and every message starts with `line N: `.
 */
export function parseImportLine(line: string, lineNumber: number): ImportLine {
  const at = (problems: Problem[]): never =>
    fail(inputInvalid(problems.map((p) => ({ ...p, message: `line ${lineNumber}: ${p.message}` }))));

  const text = String(line).replace(/^\uFEFF/, '');
  if (text.trim() === '') {
    return at([{ path: '', message: 'is empty; each line must be one JSON object' }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the text around the error, which may be PHI: keep only the position.
    const position = /at position (\d+)/.exec(String((err as Error).message))?.[1];
    return at([{ path: '', message: `is not valid JSON${position ? ` (error at character ${position})` : ''}` }]);
  }
  const validate = importLineValidator();
  const problems = validate(value) ? [] : ajvProblems(validate.errors);
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (isRecordKind(kind)) {
    problems.push(...semanticProblems(kind, (value as { record?: unknown }).record, '/record'));
  }
  if (problems.length > 0) {
    return at(problems);
  }
  return value as ImportLine;
}
