/**
 * References to what a target cannot hold become logical references (R4 Reference.type + identifier,
 * https://hl7.org/fhir/R4/references.html#logical): on a target that cannot write Encounter (Epic) a
 * note still names its session, by the practice's session identifier, as its profile requires
 * (exactly one context.encounter); where Consent is not writable (Epic, Oracle) context.related names
 * the consents the same way. The reader learns which session and which authorization; nothing dangles.
 */
import { parseConditionalRef } from './references.js';

export interface LogicalResult<T> {
  value: T;
  /** The conditional references that became logical ones. */
  replaced: string[];
}

/**
 * Replaces every `{ reference: "Type?identifier=sys|value" }` for which `shouldReplace` holds with
 * `{ type: "Type", identifier: { system, value } }` (display and other elements kept).
 */
export function toLogicalReferences<T>(node: T, shouldReplace: (reference: string) => boolean): LogicalResult<T> {
  const replaced: string[] = [];
  const walk = (n: unknown): unknown => {
    if (Array.isArray(n)) {
      return n.map(walk);
    }
    if (n && typeof n === 'object') {
      const obj = n as Record<string, unknown>;
      const ref = typeof obj.reference === 'string' ? obj.reference : undefined;
      const parsed = ref && shouldReplace(ref) ? parseConditionalRef(ref) : undefined;
      if (ref && parsed) {
        replaced.push(ref);
        const { reference: _r, ...rest } = obj;
        return { ...rest, type: parsed.resourceType, identifier: { system: parsed.system, value: parsed.value } };
      }
      return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, walk(v)]));
    }
    return n;
  };
  return { value: walk(node) as T, replaced };
}
