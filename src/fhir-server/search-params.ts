/**
 * Which search parameters the index holds, and their FHIRPath expressions prepared for indexing.
 *
 * Every parameter of a type whose kind medplum's matcher evaluates (token, reference, date, string,
 * uri) and that has an expression is indexed, from that same expression, so the index sees exactly the
 * values the matcher sees.
 *
 * One preparation, for the index and for medplum's matcher alike: R4's shared parameters (`patient`,
 * `date`, `encounter`, `identifier`...) are unions over dozens of types ("AllergyIntolerance.patient |
 * CarePlan.subject.where(resolve() is Patient) | ..."), and the matcher parses the whole expression on
 * every call (6 ms for DocumentReference `patient`, measured). The branches that start with another
 * resource type's name yield nothing on this type, so specializeSearchParameters() registers, per type,
 * the same parameter without them (medplum's own indexSearchParameter): identical results, about 50x
 * cheaper to parse and evaluate. A test evaluates the original and the specialized expressions on
 * generated resources and requires equal results.
 */
import { createHash } from 'node:crypto';
import type { FhirPathAtom } from '@medplum/core';
import { getSearchParameters, globalSchema, indexSearchParameter, isResourceType, parseFhirPath } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';

/** The value table a parameter kind is stored in. */
export type ValueTable = 'token' | 'reference' | 'date' | 'string';

/** A search parameter the index holds, for one resource type. */
export interface IndexedParam {
  code: string;
  /** The SearchParameter.type: token, reference, date, string or uri. */
  type: string;
  table: ValueTable;
  /** The expression, restricted to this resource type, parsed once. */
  atom: FhirPathAtom;
  /** SearchParameter.target (reference parameters): the types a bare id may name. */
  targets: string[];
  /**
   * The top-level elements the expression starts from (`subject` for "DocumentReference.subject..."),
   * when every branch starts with one: a resource with none of them (nor a choice-type or `_`
   * variant) yields nothing, so evaluating it can be skipped. Undefined: always evaluate.
   */
  heads?: string[];
}

const TABLE_OF: Record<string, ValueTable> = {
  token: 'token',
  reference: 'reference',
  date: 'date',
  string: 'string',
  uri: 'string', // medplum's matcher compares uris exactly as strings
};

/**
 * Bumped whenever what is extracted into the index changes, so existing indexes are rebuilt
 * (search-reindex.ts compares a fingerprint including it).
 */
const INDEX_FORMAT = 1;

const byType = new Map<string, Map<string, IndexedParam>>();
let fingerprint: string | undefined;
/** The expressions as loaded, by `Type.code`, for the parameters specializeSearchParameters() replaced. */
const originals = new Map<string, string>();
let specialized = false;

/**
 * Registers each resource type's own version of the shared search parameters (see above). Once per
 * process, after the definitions are loaded and before the index is used.
 */
export function specializeSearchParameters(): void {
  if (specialized) {
    return;
  }
  specialized = true;
  for (const type of Object.keys(globalSchema.types)) {
    const params = globalSchema.types[type]?.searchParams;
    if (!params || !isResourceType(type)) {
      continue;
    }
    for (const [code, param] of Object.entries(params)) {
      const expression = param.expression && forResourceType(type, param.expression);
      if (expression && expression !== param.expression) {
        originals.set(`${type}.${code}`, param.expression as string);
        indexSearchParameter({ ...param, base: [type] as SearchParameter['base'], expression });
      }
    }
  }
  byType.clear();
  fingerprint = undefined;
}

/**
 * @param resourceType - A resource type.
 * @param code - A search parameter code.
 * @returns The expression as loaded, before specializeSearchParameters() (for tests).
 */
export function originalExpression(resourceType: string, code: string): string | undefined {
  return originals.get(`${resourceType}.${code}`) ?? getSearchParameters(resourceType)?.[code]?.expression;
}

/**
 * @param resourceType - A resource type.
 * @returns The indexed parameters of that type, by code.
 */
export function indexedParams(resourceType: string): Map<string, IndexedParam> {
  let params = byType.get(resourceType);
  if (!params) {
    params = new Map();
    for (const [code, param] of Object.entries(getSearchParameters(resourceType) ?? {})) {
      const prepared = prepare(resourceType, code, param);
      if (prepared) {
        params.set(code, prepared);
      }
    }
    byType.set(resourceType, params);
  }
  return params;
}

/**
 * @param resourceType - A resource type.
 * @param code - A search parameter code.
 * @returns The indexed parameter, or undefined when the index does not hold it.
 */
export function indexedParam(resourceType: string, code: string): IndexedParam | undefined {
  return indexedParams(resourceType).get(code);
}

/**
 * A digest of every indexed parameter's definition (and of the extraction format): when it differs
 * from the one an index was built with, the index is rebuilt.
 * @returns A hex digest, computed once per process.
 */
export function definitionsFingerprint(): string {
  if (!fingerprint) {
    const hash = createHash('sha256').update(`format ${INDEX_FORMAT}\n`);
    for (const type of Object.keys(globalSchema.types).sort()) {
      const params = globalSchema.types[type]?.searchParams;
      if (!params || !isResourceType(type)) {
        continue;
      }
      for (const code of Object.keys(params).sort()) {
        const p = params[code];
        if (TABLE_OF[p.type ?? ''] && p.expression) {
          hash.update(`${type}\t${code}\t${p.type}\t${p.expression}\n`);
        }
      }
    }
    fingerprint = hash.digest('hex');
  }
  return fingerprint;
}

function prepare(resourceType: string, code: string, param: SearchParameter): IndexedParam | undefined {
  const table = TABLE_OF[param.type ?? ''];
  if (!table || !param.expression) {
    return undefined;
  }
  const expression = forResourceType(resourceType, param.expression);
  return {
    code,
    type: param.type,
    table,
    atom: parseFhirPath(expression),
    targets: param.target ?? [],
    heads: headsOf(resourceType, expression),
  };
}

/** The first element of each branch ("Type.element..."), or undefined when a branch is anything else. */
function headsOf(resourceType: string, expression: string): string[] | undefined {
  const heads = new Set<string>();
  for (const branch of topLevelBranches(expression)) {
    const m = /^([A-Z][A-Za-z]+)\.([a-z][A-Za-z0-9]*)\b/.exec(branch);
    if (!m || (m[1] !== resourceType && m[1] !== 'Resource' && m[1] !== 'DomainResource')) {
      return undefined;
    }
    heads.add(m[2]);
  }
  return [...heads];
}

/**
 * Drops the top-level union branches that start with another resource type's name.
 * @param resourceType - The type the expression will be evaluated on.
 * @param expression - A SearchParameter expression.
 * @returns An equivalent expression for that type (the original when nothing can be dropped).
 */
export function forResourceType(resourceType: string, expression: string): string {
  const branches = topLevelBranches(expression);
  const kept = branches.filter((branch) => {
    const head = /^([A-Z][A-Za-z]+)\./.exec(branch)?.[1];
    return !head || head === resourceType || !isResourceType(head);
  });
  // No branch left means nothing matches this type; keep the original so evaluation stays medplum's.
  if (kept.length === 0 || kept.length === branches.length) {
    return expression;
  }
  // A union also removes duplicates: one branch left stays a union (with itself) to keep that.
  return kept.length === 1 ? `${kept[0]} | ${kept[0]}` : kept.join(' | ');
}

/** Splits on `|` outside parentheses and string literals. */
function topLevelBranches(expression: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (quoted) {
      if (c === '\\') {
        i++;
      } else if (c === "'") {
        quoted = false;
      }
    } else if (c === "'") {
      quoted = true;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
    } else if (c === '|' && depth === 0) {
      out.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(expression.slice(start).trim());
  return out;
}

/**
 * Every (resource type, code) the index may hold, without parsing anything (search_param is seeded
 * with them, see search-index.ts).
 * @returns The pairs.
 */
export function allIndexedParamCodes(): [string, string][] {
  const out: [string, string][] = [];
  for (const type of Object.keys(globalSchema.types)) {
    const params = globalSchema.types[type]?.searchParams;
    if (!params || !isResourceType(type)) {
      continue;
    }
    for (const [code, p] of Object.entries(params)) {
      if (TABLE_OF[p.type ?? ''] && p.expression) {
        out.push([type, code]);
      }
    }
  }
  return out;
}
