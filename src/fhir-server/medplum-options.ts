/**
 * The options of the `medplum-like` target profile, and their check. Every option reproduces one thing a
 * Medplum 4.5 server does; docs/target-profiles-and-faults.md says what and where it comes from.
 */

/** Medplum's FHIR interaction quota (`userFhirQuota`): points per client per fixed window. */
export interface MedplumQuota {
  /** Points a client may spend per window (read 1, history 10, search 20, write 100: Medplum's weights). */
  points: number;
  /** Length of the window in seconds; default 60, as Medplum's. */
  windowSeconds?: number;
}

/** What the `medplum-like` profile does beyond accepting every type and interaction. */
export interface MedplumLikeOptions {
  /**
   * The project feature `transaction-bundles`: a transaction is atomic, and refused (400) with a
   * conditional entry and more than 8 entries, or with more than 50 updates. Default false: a
   * transaction runs like a batch, committing the good entries and answering an error per bad one.
   */
  atomicTransactions?: boolean;
  /** The request quota; default none (unlimited). */
  quota?: MedplumQuota;
  /** Fraction (0..1) of writes answered 409 (a serialization conflict), drawn from `seed`. Default 0. */
  conflictRate?: number;
  /** Seed of the conflict draws (mulberry32); default 1. Same seed and requests, same conflicts. */
  seed?: number;
  /**
   * OAuth2 clients (client_credentials), client_id -> client_secret. When any are given, the standalone
   * server offers `/oauth2/token` and `.well-known/smart-configuration`, and its FHIR API needs a token
   * from there; the token's scope decides what it may do. Default none: no authentication, full access.
   */
  clients?: Readonly<Record<string, string>>;
  /** Lifetime of issued access tokens in seconds; default 3600 (Medplum's default). */
  tokenLifetimeSeconds?: number;
  /**
   * Send `Retry-After` with a top-level 429 (default true). Medplum sends only its `RateLimit` header;
   * false reproduces that exactly.
   */
  retryAfterHeader?: boolean;
}

const MAX_WINDOW_S = 86_400;

/**
 * Every problem with a set of options, each naming the option.
 * @param o - The options.
 * @returns Problems in words; empty when the options are usable.
 */
export function medplumOptionProblems(o: MedplumLikeOptions): string[] {
  const problems: string[] = [];
  if (o.quota !== undefined) {
    if (!Number.isInteger(o.quota.points) || o.quota.points < 0) {
      problems.push(`quota.points must be a whole number of 0 or more (got ${String(o.quota.points)})`);
    }
    const w = o.quota.windowSeconds;
    if (w !== undefined && (!Number.isFinite(w) || w <= 0 || w > MAX_WINDOW_S)) {
      problems.push(`quota.windowSeconds must be more than 0 and at most ${MAX_WINDOW_S} (got ${String(w)})`);
    }
  }
  if (o.conflictRate !== undefined && !(o.conflictRate >= 0 && o.conflictRate <= 1)) {
    problems.push(`conflictRate must be from 0 to 1 (got ${String(o.conflictRate)})`);
  }
  if (o.seed !== undefined && !Number.isInteger(o.seed)) {
    problems.push(`seed must be a whole number (got ${String(o.seed)})`);
  }
  const lifetime = o.tokenLifetimeSeconds;
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime <= 0)) {
    problems.push(`tokenLifetimeSeconds must be a whole number above 0 (got ${String(lifetime)})`);
  }
  for (const [id, secret] of Object.entries(o.clients ?? {})) {
    if (!id || /[:\s]/.test(id)) {
      problems.push(`clients: a client_id must be non-empty, without ":" or spaces (got "${id}")`);
    }
    if (typeof secret !== 'string' || secret.length === 0) {
      // The secret itself is never quoted: messages end up in logs.
      problems.push(`clients: the secret of client "${id}" must be a non-empty string`);
    }
  }
  return problems;
}
