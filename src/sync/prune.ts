/**
 * Leaves out references a target cannot hold: on a target that cannot write Encounter (Epic) a note is
 * filed without context.encounter; where Consent is not writable (Epic, Oracle) without
 * context.related. The smallest list item holding such a reference goes; an element left empty goes
 * with it. A reference outside any list (a required subject) cannot go: the resource is "poisoned".
 */
const PRUNED = Symbol('pruned');

export interface PruneResult<T> {
  value: T;
  /** The reference strings removed. */
  removed: string[];
  /** A reference to remove sat outside any list: the resource cannot be written without it. */
  poisoned: boolean;
}

export function pruneReferences<T>(node: T, shouldPrune: (reference: string) => boolean): PruneResult<T> {
  const removed: string[] = [];
  const walk = (n: unknown): unknown => {
    if (Array.isArray(n)) {
      const kept = n.map(walk).filter((v) => v !== PRUNED);
      return kept;
    }
    if (n && typeof n === 'object') {
      const obj = n as Record<string, unknown>;
      if (typeof obj.reference === 'string' && shouldPrune(obj.reference)) {
        removed.push(obj.reference);
        return PRUNED;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(obj)) {
        const w = walk(v);
        if (w === PRUNED) {
          return PRUNED; // the object holding the reference goes with it, up to the nearest list item
        }
        // A list emptied by pruning is left out rather than sent as [] (invalid FHIR).
        if (Array.isArray(w) && w.length === 0 && Array.isArray(v) && v.length > 0) {
          continue;
        }
        // An element whose only content was pruned away goes too.
        if (w && typeof w === 'object' && !Array.isArray(w) && Object.keys(w).length === 0 && Object.keys(v as object).length > 0) {
          continue;
        }
        out[k] = w;
      }
      return out;
    }
    return n;
  };
  const value = walk(node);
  return value === PRUNED ? { value: node, removed, poisoned: true } : { value: value as T, removed, poisoned: false };
}
