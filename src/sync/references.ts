/**
 * Mapped resources point at each other with FHIR conditional references ("Patient?identifier=sys|value",
 * see https://hl7.org/fhir/R4/http.html#trules). The sync resolves each to a literal reference on the
 * target (or to a urn:uuid inside the bundle being sent) before validating and sending.
 */

export interface ConditionalRef {
  resourceType: string;
  system: string;
  value: string;
  /** `system|value`, the ledger key. */
  identifier: string;
}

const CONDITIONAL = /^([A-Z][A-Za-z]+)\?identifier=([^|]*)\|(.+)$/;

/** Parses "Type?identifier=system|value", or returns undefined for any other reference. */
export function parseConditionalRef(reference: string): ConditionalRef | undefined {
  const m = CONDITIONAL.exec(reference);
  if (!m) {
    return undefined;
  }
  const system = decodeURIComponent(m[2]);
  const value = decodeURIComponent(m[3]);
  return { resourceType: m[1], system, value, identifier: `${system}|${value}` };
}

/** Calls fn for every `reference` string in a JSON tree. */
export function forEachReference(node: unknown, fn: (reference: string) => void): void {
  if (Array.isArray(node)) {
    node.forEach((n) => forEachReference(n, fn));
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'reference' && typeof v === 'string') {
        fn(v);
      } else {
        forEachReference(v, fn);
      }
    }
  }
}

/** Returns a copy of a JSON tree with every `reference` string passed through rewrite. */
export function rewriteReferences<T>(node: T, rewrite: (reference: string) => string): T {
  if (Array.isArray(node)) {
    return node.map((n) => rewriteReferences(n, rewrite)) as T;
  }
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        k === 'reference' && typeof v === 'string' ? rewrite(v) : rewriteReferences(v, rewrite),
      ])
    ) as T;
  }
  return node;
}
