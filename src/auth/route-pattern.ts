/**
 * The path patterns of the route table: `/`-separated segments, each a literal (`sync`, `$export`), a
 * parameter `:name` (any one non-empty segment) or `:name(regex)` (a segment the regex matches whole),
 * or a final `*` (any rest, including none). Requests are matched on their decoded segments, so
 * `%24export` is `$export`, as the FHIR router will read it.
 */

/** One compiled pattern. */
export interface CompiledPattern {
  source: string;
  /** The pattern for logs and the audit: `/api/v1/{collection}/{id}` (regexes left out). */
  display: string;
  /** The pattern for docs: as display, with a parameter limited to a list of names showing it (`{type: Encounter|Consent}`). */
  detailed: string;
  match(segments: readonly string[]): Record<string, string> | undefined;
}

type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string; re?: RegExp } | { kind: 'rest' };

const PARAM = /^:([A-Za-z][A-Za-z0-9]*)(?:\((.+)\))?$/;

/**
 * Compiles a pattern.
 * @throws Error when the pattern is malformed (a table bug, found at start).
 */
export function compilePattern(source: string): CompiledPattern {
  if (!source.startsWith('/')) {
    throw new Error(`route pattern must start with "/": ${source}`);
  }
  const parts = splitPath(source);
  const segments: Segment[] = parts.map((p, i) => {
    if (p === '*') {
      if (i !== parts.length - 1) {
        throw new Error(`"*" must be the last segment: ${source}`);
      }
      return { kind: 'rest' };
    }
    const m = PARAM.exec(p);
    if (m) {
      return { kind: 'param', name: m[1], ...(m[2] ? { re: new RegExp(`^(?:${m[2]})$`) } : {}) };
    }
    return { kind: 'literal', value: p };
  });
  const display =
    '/' +
    segments
      .map((s) => (s.kind === 'literal' ? s.value : s.kind === 'param' ? `{${s.name}}` : '*'))
      .join('/');
  const detailed =
    '/' +
    parts
      .map((p, i) => {
        const s = segments[i];
        if (s.kind !== 'param') {
          return s.kind === 'literal' ? s.value : '*';
        }
        const alternatives = PARAM.exec(p)?.[2];
        return alternatives && /^[A-Za-z-]+(\|[A-Za-z-]+)+$/.test(alternatives) ? `{${s.name}: ${alternatives}}` : `{${s.name}}`;
      })
      .join('/');
  return {
    source,
    display,
    detailed,
    match(given) {
      const params: Record<string, string> = {};
      for (let i = 0; i < segments.length; i++) {
        const s = segments[i];
        if (s.kind === 'rest') {
          return params;
        }
        const value = given[i];
        if (value === undefined) {
          return undefined;
        }
        if (s.kind === 'literal') {
          if (value !== s.value) {
            return undefined;
          }
        } else {
          if (value === '' || (s.re && !s.re.test(value))) {
            return undefined;
          }
          params[s.name] = value;
        }
      }
      return given.length === segments.length ? params : undefined;
    },
  };
}

/**
 * The segments of a path, percent-decoded. A trailing slash is ignored (as express does); `/` is no
 * segment at all.
 * @throws URIError on malformed percent-encoding (`%ZZ`, `%FF`, an encoded lone surrogate).
 */
export function decodeSegments(path: string): string[] {
  return splitPath(path).map((s) => (s.includes('%') ? decodeURIComponent(s) : s));
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+/, '').replace(/\/$/, '');
  return trimmed === '' ? [] : trimmed.split('/');
}
