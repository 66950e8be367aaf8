/**
 * The `medplum-like` target profile at run time: one MedplumLikeRuntime per server holds what a Medplum
 * 4.5 server keeps between requests (the quota buckets, the OAuth clients and tokens, the project's
 * `transaction-bundles` feature) and the injected failures, and is the control a test drives
 * (`server.medplum`). The parts:
 * - medplum-transactions.ts: how a request is handled (medplum's own batch processor, atomic or not);
 * - medplum-repository.ts: what every repository operation checks (quota, scopes, faults);
 * - medplum-oauth.ts: the token endpoint, SMART discovery and the bearer check (standalone server);
 * - profile-capability.ts: the CapabilityStatement it publishes.
 */
import type { CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { Response } from 'express';
import type { FhirRequest, FhirResponse, FhirRouter } from '@medplum/fhir-router';
import type { FaultCounts, FailureRule } from './medplum-faults.js';
import { MedplumFaults } from './medplum-faults.js';
import type { MedplumLikeOptions, MedplumQuota } from './medplum-options.js';
import { medplumOptionProblems } from './medplum-options.js';
import type { QuotaState } from './medplum-quota.js';
import { FhirQuota } from './medplum-quota.js';
import { handleMedplumRequest } from './medplum-transactions.js';
import { medplumCapability } from './profile-capability.js';
import type { HttpAnswer, RequestContext } from './responses.js';
import { toHttpAnswer } from './responses.js';
import type { SqliteFhirRepository } from './sqlite-repository.js';
import type { MedplumLikeProfile, TargetProfile } from './target-profiles.js';
import { MEDPLUM_LIKE, isMedplumLike } from './target-profiles.js';

export type { MedplumLikeOptions, MedplumQuota } from './medplum-options.js';
export type { FailureRule, InjectableStatus, OperationKind } from './medplum-faults.js';
export type { QuotaState } from './medplum-quota.js';

/**
 * The `medplum-like` profile with these options.
 * @param options - See MedplumLikeOptions; omitted ones take their defaults.
 * @returns The profile, to pass as `profile` to the standalone server or createEmbeddedFhirServer.
 * @throws Error naming every bad option at once.
 */
export function medplumLikeProfile(options: MedplumLikeOptions = {}): MedplumLikeProfile {
  const problems = medplumOptionProblems(options);
  if (problems.length > 0) {
    throw new Error(`Invalid medplum-like options: ${problems.join('; ')}`);
  }
  return { ...MEDPLUM_LIKE, options: { ...options, clients: { ...options.clients } } };
}

/** An access token issued by the token endpoint. */
export interface MedplumGrant {
  clientId: string;
  /** The scope asked for, echoed in the token response and applied medplum's way. */
  scope: string;
  expiresAt: number;
}

/** One call of the token endpoint, as recorded for tests (never the secret). */
export interface TokenRequestRecord {
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
  clientId?: string;
  scope?: string;
  /** The OAuth error answered; undefined when a token was issued. */
  refused?: string;
}

/** Counters of what the server did to requests. */
export interface MedplumStats {
  /** Operations refused, by status (429 quota, 403 scope, and every injected status). */
  refused: Record<string, number>;
  /** Injected failures (rules and conflict draws). */
  faults: FaultCounts;
  tokenRequests: TokenRequestRecord[];
}

/** What a test can change on a running `medplum-like` server (`server.medplum`). */
export interface MedplumLikeControl {
  readonly profile: MedplumLikeProfile;
  /** The project feature `transaction-bundles` (atomic transactions, with medplum's limits). */
  readonly atomicTransactions: boolean;
  setAtomicTransactions(on: boolean): void;
  /** A new quota (undefined: none); every client starts a fresh window. */
  setQuota(quota: MedplumQuota | undefined): void;
  /** Every client gets its full quota back at once (a new window starts). */
  refillQuota(): void;
  /** Where a client stands (`anonymous` without OAuth); undefined without a quota. */
  quotaState(clientId?: string): QuotaState | undefined;
  /** The next matching operations fail with the rule's status (per entry inside a Bundle). */
  fail(rule: FailureRule): void;
  clearFailures(): void;
  /** Changes the 409 conflict rate; a seed restarts the draws. */
  setConflictRate(rate: number, seed?: number): void;
  /** Registers (or changes) an OAuth client. */
  addClient(clientId: string, secret: string): void;
  /** Every token issued so far answers 401 from now on (the client must get a new one). */
  revokeTokens(): void;
  stats(): MedplumStats;
}

/** The state and behaviour of one `medplum-like` server. */
export class MedplumLikeRuntime implements MedplumLikeControl {
  readonly profile: MedplumLikeProfile;
  readonly quota: FhirQuota;
  readonly faults: MedplumFaults;
  readonly clients: Map<string, string>;
  readonly tokens = new Map<string, MedplumGrant>();
  readonly tokenLifetimeSeconds: number;
  readonly retryAfterHeader: boolean;
  /** The token endpoint's URL, set by the standalone server once it listens (published in metadata). */
  tokenUrl: string | undefined;
  private atomic: boolean;
  private readonly refused: Record<string, number> = {};
  private readonly tokenRequests: TokenRequestRecord[] = [];

  /** @param profile - The profile and its options (checked by medplumLikeProfile). */
  constructor(profile: MedplumLikeProfile) {
    const o = profile.options;
    const problems = medplumOptionProblems(o);
    if (problems.length > 0) {
      throw new Error(`Invalid medplum-like options: ${problems.join('; ')}`);
    }
    this.profile = profile;
    this.atomic = o.atomicTransactions === true;
    this.quota = new FhirQuota(o.quota);
    this.faults = new MedplumFaults(o.conflictRate ?? 0, o.seed ?? 1);
    this.clients = new Map(Object.entries(o.clients ?? {}));
    this.tokenLifetimeSeconds = o.tokenLifetimeSeconds ?? 3600;
    this.retryAfterHeader = o.retryAfterHeader !== false;
  }

  get atomicTransactions(): boolean {
    return this.atomic;
  }

  /** True when clients are configured: the FHIR API then needs a token from the token endpoint. */
  get oauth(): boolean {
    return this.clients.size > 0;
  }

  setAtomicTransactions(on: boolean): void {
    this.atomic = on;
  }

  setQuota(quota: MedplumQuota | undefined): void {
    const problems = medplumOptionProblems({ quota });
    if (problems.length > 0) {
      throw new Error(problems.join('; '));
    }
    this.quota.set(quota);
  }

  refillQuota(): void {
    this.quota.refill();
  }

  quotaState(clientId = 'anonymous'): QuotaState | undefined {
    return this.quota.state(clientId);
  }

  fail(rule: FailureRule): void {
    this.faults.fail(rule);
  }

  clearFailures(): void {
    this.faults.clear();
  }

  setConflictRate(rate: number, seed?: number): void {
    this.faults.setConflictRate(rate, seed);
  }

  addClient(clientId: string, secret: string): void {
    const problems = medplumOptionProblems({ clients: { [clientId]: secret } });
    if (problems.length > 0) {
      throw new Error(problems.join('; '));
    }
    this.clients.set(clientId, secret);
  }

  revokeTokens(): void {
    this.tokens.clear();
  }

  /** Issues a token for a client and scope, dropping the expired ones (the map stays small). */
  issueToken(clientId: string, scope: string, token: string): MedplumGrant {
    const now = Date.now();
    for (const [key, grant] of this.tokens) {
      if (grant.expiresAt <= now) {
        this.tokens.delete(key);
      }
    }
    const grant = { clientId, scope, expiresAt: now + this.tokenLifetimeSeconds * 1000 };
    this.tokens.set(token, grant);
    return grant;
  }

  stats(): MedplumStats {
    return { refused: { ...this.refused }, faults: this.faults.stats(), tokenRequests: [...this.tokenRequests] };
  }

  /** Counts an operation refused with `status`. */
  recordRefusal(status: number): void {
    this.refused[status] = (this.refused[status] ?? 0) + 1;
  }

  /** Records a token request (never its secret). */
  recordTokenRequest(record: TokenRequestRecord): void {
    this.tokenRequests.push(record);
  }

  /**
   * Handles one FHIR request of the API side (the hook in http.ts).
   * @param fhirReq - The request as medplum's router takes it.
   * @param fhirRouter - medplum's router.
   * @param repo - The server's repository.
   * @param res - The express response: its locals carry the token's grant; gets RateLimit/Retry-After.
   */
  handle(fhirReq: FhirRequest, fhirRouter: FhirRouter, repo: SqliteFhirRepository, res: Response): Promise<FhirResponse> {
    return handleMedplumRequest(this, fhirReq, fhirRouter, repo, res);
  }

  /**
   * The HTTP answer, with batch and transaction responses left exactly as medplum's batch processor
   * builds them (`status` "201", `location` "Type/id", an `outcome` on every entry, no etag), as a real
   * Medplum server sends them; everything else as the embedded server answers.
   */
  answer(outcome: OperationOutcome, resource: Resource | undefined, ctx: RequestContext): HttpAnswer {
    if (resource?.resourceType === 'Bundle' && (resource.type === 'batch-response' || resource.type === 'transaction-response')) {
      return { status: toHttpAnswer(outcome, undefined, ctx).status, headers: {}, body: resource };
    }
    return toHttpAnswer(outcome, resource, ctx);
  }

  /** The CapabilityStatement: what medplum's says (see profile-capability.ts). */
  capability(full: CapabilityStatement): CapabilityStatement {
    return medplumCapability(full, this.profile, this.oauth ? this.tokenUrl : undefined);
  }
}

/**
 * The runtime the HTTP router of a profile uses: the one given, a new one for `medplum-like`, none else.
 * @param profile - The router's profile.
 * @param given - A runtime created by the caller (createEmbeddedFhirServer), to share with the standalone server.
 */
export function medplumRuntimeFor(profile: TargetProfile | undefined, given?: MedplumLikeRuntime): MedplumLikeRuntime | undefined {
  if (!isMedplumLike(profile)) {
    return undefined;
  }
  return given ?? new MedplumLikeRuntime(profile);
}
