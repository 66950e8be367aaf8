/**
 * Failures the `medplum-like` server injects into single operations (never into a whole HTTP request):
 * - rules set by a test (`fail({ resourceType: 'Encounter', interaction: 'create', status: 403 })`): the
 *   next matching operations fail with that status, nothing written. Inside a batch or a non-atomic
 *   transaction that is one entry's `response.status`; at the top level it is the HTTP status.
 * - 409 serialization conflicts on writes at a seeded rate, as medplum's serializable transactions
 *   answer under concurrency (Postgres 40001). One draw per write, in arrival order.
 *
 * Each injected outcome is the one medplum itself builds for that status (@medplum/core helpers).
 */
import {
  OperationOutcomeError,
  badRequest,
  businessRule,
  conflict,
  forbidden,
  gone,
  notFound,
  preconditionFailed,
  serverError,
  serverTimeout,
  tooManyRequests,
} from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { mulberry32 } from '../devtools/fault-proxy.js';

/** The repository operations a rule can select. */
export type OperationKind = 'create' | 'update' | 'patch' | 'delete' | 'read' | 'search' | 'history';

const WRITES: ReadonlySet<OperationKind> = new Set(['create', 'update', 'patch', 'delete']);

/** The statuses a rule can inject. */
export const INJECTABLE_STATUSES = [400, 403, 404, 409, 410, 412, 422, 429, 500, 504] as const;
export type InjectableStatus = (typeof INJECTABLE_STATUSES)[number];

/** Which operations fail, and how. */
export interface FailureRule {
  /** Only operations on this resource type; default any type. */
  resourceType?: string;
  /** Only this kind of operation; `write` = create, update, patch or delete. Default `write`. */
  interaction?: OperationKind | 'write';
  status: InjectableStatus;
  /** How many matching operations fail before the rule is spent; default 1, Infinity until clear(). */
  times?: number;
}

/** What was injected so far. */
export interface FaultCounts {
  /** By status, rules and conflict draws together. */
  byStatus: Record<string, number>;
  /** 409s from the conflict rate alone. */
  conflicts: number;
}

const INJECTED_TEXT = 'Injected by the medplum-like target profile';

/** The outcome medplum builds for a status. */
export function outcomeForStatus(status: InjectableStatus): OperationOutcome {
  switch (status) {
    case 400:
      return badRequest(INJECTED_TEXT);
    case 403:
      return forbidden;
    case 404:
      return notFound;
    case 409:
      return serializationConflict();
    case 410:
      return gone;
    case 412:
      return preconditionFailed;
    case 422:
      return businessRule('injected', INJECTED_TEXT);
    case 429:
      return tooManyRequests;
    case 500:
      return serverError(new Error(INJECTED_TEXT));
    case 504:
      return serverTimeout(INJECTED_TEXT);
  }
}

/** Postgres' serialization failure as medplum reports it: `conflict` with the SQLSTATE as code. */
function serializationConflict(): OperationOutcome {
  return conflict('could not serialize access due to concurrent update', '40001');
}

/** The injected failures of one server. */
export class MedplumFaults {
  private rules: { rule: FailureRule; left: number }[] = [];
  private conflictRate: number;
  private random: () => number;
  private readonly counts: FaultCounts = { byStatus: {}, conflicts: 0 };

  /**
   * @param conflictRate - Fraction of writes answered 409 (0..1).
   * @param seed - Seed of the draws.
   */
  constructor(conflictRate = 0, seed = 1) {
    this.conflictRate = conflictRate;
    this.random = mulberry32(seed);
  }

  /**
   * Adds a rule; rules are tried in the order added, the first that matches is spent.
   * @throws Error for a status that cannot be injected.
   */
  fail(rule: FailureRule): void {
    if (!(INJECTABLE_STATUSES as readonly number[]).includes(rule.status)) {
      throw new Error(`Cannot inject status ${rule.status} (can: ${INJECTABLE_STATUSES.join(', ')})`);
    }
    const times = rule.times ?? 1;
    if (!(times > 0)) {
      throw new Error(`times must be more than 0 (got ${times})`);
    }
    this.rules.push({ rule, left: times });
  }

  /** Drops every rule not yet spent. */
  clear(): void {
    this.rules = [];
  }

  /** Changes the conflict rate; a seed restarts the draws from it. */
  setConflictRate(rate: number, seed?: number): void {
    if (!(rate >= 0 && rate <= 1)) {
      throw new Error(`conflictRate must be from 0 to 1 (got ${rate})`);
    }
    this.conflictRate = rate;
    if (seed !== undefined) {
      this.random = mulberry32(seed);
    }
  }

  /** A copy of the counters. */
  stats(): FaultCounts {
    return { byStatus: { ...this.counts.byStatus }, conflicts: this.counts.conflicts };
  }

  /**
   * Called before every repository operation of the API side.
   * @throws OperationOutcomeError with the injected status when a rule or the conflict draw says so.
   */
  check(kind: OperationKind, resourceType: string): void {
    const match = this.rules.find(({ rule }) => matches(rule, kind, resourceType));
    if (match) {
      match.left -= 1;
      if (match.left <= 0) {
        this.rules = this.rules.filter((r) => r !== match);
      }
      this.count(match.rule.status);
      throw new OperationOutcomeError(outcomeForStatus(match.rule.status));
    }
    // One draw per write, rate or not, so changing the rate later does not shift the sequence.
    if (WRITES.has(kind) && this.random() < this.conflictRate) {
      this.counts.conflicts += 1;
      this.count(409);
      throw new OperationOutcomeError(serializationConflict());
    }
  }

  private count(status: number): void {
    this.counts.byStatus[status] = (this.counts.byStatus[status] ?? 0) + 1;
  }
}

function matches(rule: FailureRule, kind: OperationKind, resourceType: string): boolean {
  if (rule.resourceType !== undefined && rule.resourceType !== resourceType) {
    return false;
  }
  const wanted = rule.interaction ?? 'write';
  return wanted === 'write' ? WRITES.has(kind) : wanted === kind;
}
