/**
 * The SQL-on-FHIR v2 ViewDefinition as we read it (the shape of the logical model, with `repeat`,
 * which @medplum/fhirtypes 4.5 lacks), and what evaluating one produces.
 * See: https://build.fhir.org/ig/FHIR/sql-on-fhir-v2/StructureDefinition-ViewDefinition.html
 */

/** One output column of a select. */
export interface ViewColumn {
  name: string;
  /** FHIRPath, evaluated on the select's focus. */
  path: string;
  /** A FHIR primitive type name (`string`, `dateTime`, `integer`...): the column's type hint. */
  type?: string;
  /** True: the column holds a list (empty list when nothing matches). False/absent: at most one value. */
  collection?: boolean;
  description?: string;
  tag?: { name: string; value: string }[];
}

/** A selection structure: columns and nested selects over a focus, iterated by forEach/forEachOrNull/repeat. */
export interface ViewSelect {
  column?: ViewColumn[];
  select?: ViewSelect[];
  forEach?: string;
  forEachOrNull?: string;
  /** FHIRPaths followed recursively from the focus; every node reached is a focus, depth first. */
  repeat?: string[];
  unionAll?: ViewSelect[];
}

/** A named constant, available to every path as `%name`; exactly one `value[x]`. */
export interface ViewConstant {
  name: string;
  [valueX: `value${string}`]: unknown;
}

export interface ViewDefinition {
  resourceType?: 'ViewDefinition';
  id?: string;
  url?: string;
  name?: string;
  title?: string;
  description?: string;
  status: string;
  /** The FHIR resource type the view runs over. */
  resource: string;
  fhirVersion?: string[];
  constant?: ViewConstant[];
  select: ViewSelect[];
  where?: { path: string; description?: string }[];
  [other: string]: unknown;
}

/** A column of the view's output, in output order. */
export interface OutputColumn {
  name: string;
  /** The declared type hint, when there is one. */
  type?: string;
  collection: boolean;
  description?: string;
}

/** One output row: every column of the view is a key; an empty value is null (or [] for a collection). */
export type Row = Record<string, unknown>;
