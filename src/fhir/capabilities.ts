/**
 * What a target can do, read from its CapabilityStatement (https://hl7.org/fhir/R4/capabilitystatement.html):
 * transaction or batch at system level, and per resource type the interactions, conditional create and
 * update, and search parameters. The sync plans its writes from this, never from a guess about the vendor.
 */
import type { CapabilityStatement, CapabilityStatementRest } from '@medplum/fhirtypes';
import type { FhirTarget } from './port.js';

export interface TypeCapabilities {
  interactions: ReadonlySet<string>;
  conditionalCreate: boolean;
  conditionalUpdate: boolean;
  /** The server keeps versions (so ETag/If-Match can guard updates). */
  versioned: boolean;
  searchParams: ReadonlySet<string>;
}

export interface TargetCapabilities {
  transaction: boolean;
  batch: boolean;
  /** Capabilities of a resource type; undefined when the statement does not list it. */
  type(resourceType: string): TypeCapabilities | undefined;
  can(resourceType: string, interaction: string): boolean;
  /** Create or update is declared: the type can be written at all. */
  canWrite(resourceType: string): boolean;
  canSearch(resourceType: string, param: string): boolean;
}

/**
 * Parses the server-mode `rest` part of a CapabilityStatement.
 * A statement without a server `rest` part declares nothing, so nothing is writable.
 */
export function parseCapabilities(cs: CapabilityStatement): TargetCapabilities {
  const rest: CapabilityStatementRest | undefined = cs.rest?.find((r) => r.mode === 'server') ?? cs.rest?.[0];
  const system = new Set((rest?.interaction ?? []).map((i) => i.code));
  const types = new Map<string, TypeCapabilities>();
  for (const r of rest?.resource ?? []) {
    if (!r.type) {
      continue;
    }
    types.set(r.type, {
      interactions: new Set((r.interaction ?? []).map((i) => i.code as string)),
      conditionalCreate: r.conditionalCreate === true,
      conditionalUpdate: r.conditionalUpdate === true,
      versioned: r.versioning === 'versioned' || r.versioning === 'versioned-update',
      searchParams: new Set((r.searchParam ?? []).map((p) => p.name as string)),
    });
  }
  return fromParts(system.has('transaction'), system.has('batch'), types);
}

/** Builds capabilities from parts (tests describe a target this way, or adjust a real one). */
export function fromParts(transaction: boolean, batch: boolean, types: Map<string, TypeCapabilities>): TargetCapabilities {
  const type = (t: string): TypeCapabilities | undefined => types.get(t);
  const can = (t: string, interaction: string): boolean => type(t)?.interactions.has(interaction) ?? false;
  return {
    transaction,
    batch,
    type,
    can,
    canWrite: (t) => can(t, 'create') || can(t, 'update'),
    // A search parameter only counts when the type can be searched at all.
    canSearch: (t, param) => can(t, 'search-type') && (type(t)?.searchParams.has(param) ?? false),
  };
}

/**
 * The target's capabilities, read once and kept; re-read after `ttlMs` or on demand (a 405 or 501
 * says the statement we hold is out of date).
 */
export class CapabilityCache {
  private value: { caps: TargetCapabilities; readAt: number } | undefined;
  private inflight: Promise<TargetCapabilities> | undefined;

  constructor(
    private readonly target: Pick<FhirTarget, 'capabilities'>,
    private readonly ttlMs: number,
    /** Changes the parsed statement (tests; see SyncWorkerOptions.adjustCapabilities). */
    private readonly adjust?: (caps: TargetCapabilities) => TargetCapabilities
  ) {}

  /** @throws the target's error when the statement cannot be read (the record is retried later). */
  async get(now = Date.now()): Promise<TargetCapabilities> {
    if (this.value && now - this.value.readAt < this.ttlMs) {
      return this.value.caps;
    }
    this.inflight ??= this.target
      .capabilities()
      .then((cs) => {
        const parsed = parseCapabilities(cs);
        const caps = this.adjust ? this.adjust(parsed) : parsed;
        this.value = { caps, readAt: Date.now() };
        return caps;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** Forgets the statement so the next get() reads it again. */
  invalidate(): void {
    this.value = undefined;
  }
}
