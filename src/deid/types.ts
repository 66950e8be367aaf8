/**
 * The shape of a de-identification policy file (deidentify/*.json, checked against
 * deidentify/policy.schema.json) and of a loaded policy. The format follows Microsoft's FHIR
 * anonymization tool (fhirPathRules of FHIRPath -> method, first matching rule wins); the differences are
 * listed in deidentify/README.md.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { CompiledRule } from './selector.js';

/** What a rule does with the elements its path selects. */
export type DeidMethod = 'redact' | 'keep' | 'cryptoHash' | 'dateShift' | 'generalize' | 'substitute';

export const DEID_METHODS: readonly DeidMethod[] = ['redact', 'keep', 'cryptoHash', 'dateShift', 'generalize', 'substitute'];

/** One rule: a FHIRPath selecting elements, and a method. */
export interface DeidRule {
  /** FHIRPath (with nodesByType('T') and nodesByName('n')) selecting the elements the rule governs. */
  path: string;
  method: DeidMethod;
  /** Why the rule exists (shown in docs; never evaluated). */
  comment?: string;
  /** generalize, dates: keep only the year or the year and month. */
  to?: 'year' | 'month';
  /** generalize, numbers: ascending lower bounds; a value becomes the largest bound not above it. */
  ranges?: number[];
  /** generalize or dateShift, dates: redact a date more than this many years before now (HIPAA: 89). */
  redactAgeOver?: number;
  /** substitute: the replacement value (a primitive, or a JSON fragment for a complex element). */
  replaceWith?: unknown;
}

/** A policy file as written. */
export interface DeidPolicyFile {
  $schema?: string;
  /** Named after the file: `<id>.json`. */
  id: string;
  title?: string;
  description?: string;
  /**
   * The resource types this policy was reviewed for. Anything else is left out of de-identified output,
   * so a type nobody reviewed never leaves by accident.
   */
  resourceTypes: string[];
  /**
   * Per resource type, a FHIRPath to the client (the Patient) the resource belongs to: its reference
   * (`Patient/x`) or id. The date-shift offset is derived from the client's pseudonym, so intervals
   * between one client's dates are preserved across resources. Types without an entry shift per resource.
   */
  clients?: Record<string, string>;
  fhirPathRules: DeidRule[];
  parameters?: {
    /** dateShift offsets are drawn from [-n, -1] and [1, n] days; default 50 (as Microsoft's tool). */
    dateShiftRangeDays?: number;
  };
}

/** A loaded, checked and compiled policy: what createDeidentifier takes. */
export interface DeidPolicy {
  id: string;
  /** The file it came from (relative to the project root), for messages. */
  file: string;
  definition: DeidPolicyFile;
  rules: CompiledRule[];
  resourceTypes: ReadonlySet<string>;
  dateShiftRangeDays: number;
}

/**
 * Turns a resource into its de-identified copy, or undefined when it must be left out. `reads`, when
 * present, names the top-level elements whose values the de-identification of other elements depends
 * on: a caller that only needs some elements may drop the rest beforehand and still get exactly the
 * same copies of the ones it keeps, as long as it keeps these too. Absent: drop nothing.
 */
export type Deidentifier = ((resource: Resource) => Resource | undefined) & { readonly reads?: ReadonlySet<string> };

/** Options of createDeidentifier. */
export interface DeidentifierOptions {
  /** The clock for age checks (redactAgeOver); tests inject one. */
  now?: () => Date;
  /**
   * Called when a resource is left out because processing it failed (never with the resource or the
   * error text: they may hold PHI). Resources of types outside the policy are left out silently.
   */
  onDropped?: (info: { resourceType: string; reason: string }) => void;
}
