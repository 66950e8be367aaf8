/**
 * The repository one request of the `medplum-like` API works on: the SQLite repository seen through what
 * a Medplum 4.5 Repository checks before every operation, in medplum's order:
 *   1. the FHIR quota (medplum-quota.ts): every operation costs points, 429 past the limit;
 *   2. the access policy from the token's scopes (medplum-scopes.ts): 403;
 *   3. injected failures and serialization conflicts (medplum-faults.ts).
 * Nothing is written when a check fails. medplum's FhirRouter and batch processor run on top of it
 * unchanged, so a check failing inside a batch or a non-atomic transaction becomes that entry's own
 * `response.status`, exactly as on a real Medplum server.
 *
 * Also as medplum: `PUT Type/id` of an id that does not exist is 404 (no update-as-create for a
 * client that is not a project admin).
 */
import { OperationOutcomeError, badRequest, getStatus, isNotFound, normalizeOperationOutcome } from '@medplum/core';
import type { Operation } from 'rfc6902';
import type {
  CreateResourceOptions,
  ReadHistoryOptions,
  RepositoryMode,
  UpdateResourceOptions,
} from '@medplum/fhir-router';
import { FhirRepository } from '@medplum/fhir-router';
import type { SearchRequest, WithId } from '@medplum/core';
import type { Bundle, Reference, Resource } from '@medplum/fhirtypes';
import type { MedplumFaults, OperationKind } from './medplum-faults.js';
import type { FhirQuota, QuotaCost } from './medplum-quota.js';
import type { MedplumAccess } from './medplum-scopes.js';
import { assertAllowed } from './medplum-scopes.js';

/** Who is asking and what the server does to them. */
export interface MedplumRequestContext {
  /** The quota key: the token's client_id, or `anonymous`. */
  client: string;
  access: MedplumAccess;
  quota: FhirQuota;
  faults: MedplumFaults;
  /** Told the status of every operation refused by a check (the server's counters). */
  onRefused?: (status: number) => void;
}

const COST: Record<OperationKind, QuotaCost> = {
  create: 'write',
  update: 'write',
  patch: 'write',
  delete: 'write',
  read: 'read',
  search: 'search',
  history: 'history',
};

/** A FhirRepository that checks each operation like medplum's Repository, then delegates. */
export class MedplumLikeRepository extends FhirRepository<undefined> {
  private readonly inner: FhirRepository<undefined>;
  private readonly ctx: MedplumRequestContext;

  /**
   * @param inner - The repository that stores (the server's SQLite repository).
   * @param ctx - The request's client, access, quota and faults.
   */
  constructor(inner: FhirRepository<undefined>, ctx: MedplumRequestContext) {
    super();
    this.inner = inner;
    this.ctx = ctx;
  }

  private check(kind: OperationKind, resourceType: string): void {
    try {
      this.ctx.quota.consume(this.ctx.client, COST[kind]);
      assertAllowed(this.ctx.access, resourceType, COST[kind] === 'write');
      this.ctx.faults.check(kind, resourceType);
    } catch (err) {
      if (err instanceof OperationOutcomeError) {
        this.ctx.onRefused?.(getStatus(err.outcome));
      }
      throw err;
    }
  }

  setMode(mode: RepositoryMode): void {
    this.inner.setMode(mode);
  }

  generateId(): string {
    return this.inner.generateId();
  }

  withTransaction<TResult>(
    callback: (client: undefined) => Promise<TResult>,
    options?: { serializable?: boolean }
  ): Promise<TResult> {
    return this.inner.withTransaction(callback, options);
  }

  async createResource<T extends Resource>(resource: T, options?: CreateResourceOptions): Promise<WithId<T>> {
    this.check('create', resource.resourceType);
    return this.inner.createResource(resource, options);
  }

  async updateResource<T extends Resource>(resource: T, options?: UpdateResourceOptions): Promise<WithId<T>> {
    this.check('update', resource.resourceType);
    if (resource.id) {
      await this.assertExists(resource.resourceType, resource.id);
    }
    return this.inner.updateResource(resource, options);
  }

  async patchResource<T extends Resource>(resourceType: T['resourceType'], id: string, patch: Operation[]): Promise<WithId<T>> {
    this.check('patch', resourceType);
    return this.inner.patchResource(resourceType, id, patch);
  }

  async deleteResource(resourceType: string, id: string): Promise<void> {
    this.check('delete', resourceType);
    return this.inner.deleteResource(resourceType, id);
  }

  async readResource<T extends Resource>(resourceType: string, id: string): Promise<WithId<T>> {
    this.check('read', resourceType);
    return this.inner.readResource(resourceType, id);
  }

  async readReference<T extends Resource>(reference: Reference<T>): Promise<WithId<T>> {
    const parts = reference.reference?.split('/');
    if (parts?.length !== 2 || !parts[0] || !parts[1]) {
      throw new OperationOutcomeError(badRequest('Invalid reference'));
    }
    return this.readResource<T>(parts[0], parts[1]);
  }

  readReferences<T extends Resource>(references: readonly Reference<T>[]): Promise<(T | Error)[]> {
    return Promise.all(references.map((r) => this.readReference<T>(r).catch((err: Error) => err)));
  }

  async readHistory<T extends Resource>(resourceType: string, id: string, options?: ReadHistoryOptions): Promise<Bundle<WithId<T>>> {
    this.check('history', resourceType);
    return this.inner.readHistory(resourceType, id, options);
  }

  async readVersion<T extends Resource>(resourceType: string, id: string, vid: string): Promise<WithId<T>> {
    this.check('read', resourceType);
    return this.inner.readVersion(resourceType, id, vid);
  }

  async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    for (const type of searchRequest.types?.length ? searchRequest.types : [searchRequest.resourceType]) {
      this.check('search', type);
    }
    return this.inner.search(searchRequest);
  }

  async searchByReference<T extends Resource>(
    searchRequest: SearchRequest<T>,
    referenceField: string,
    references: string[]
  ): Promise<Record<string, WithId<T>[]>> {
    this.check('search', searchRequest.resourceType);
    return this.inner.searchByReference(searchRequest, referenceField, references);
  }

  /** medplum's checkExistingResource for a client that may not set ids: an unknown id is 404 (gone is fine). */
  private async assertExists(resourceType: string, id: string): Promise<void> {
    try {
      await this.inner.readResource(resourceType, id);
    } catch (err) {
      const outcome = normalizeOperationOutcome(err);
      if (isNotFound(outcome)) {
        throw new OperationOutcomeError(outcome, err);
      }
    }
  }
}
