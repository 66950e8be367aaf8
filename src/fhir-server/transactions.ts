/**
 * Transactions over one better-sqlite3 connection shared by interleaving async requests.
 *
 * A connection has a single transaction at a time, so an async transaction (BEGIN ... awaits ... COMMIT)
 * must keep every other request's statements out until it ends: otherwise another request's write would
 * silently join it (and be rolled back with it) and another request's read would see uncommitted data.
 * Hence one async mutex per connection, taken by every transaction, every single write and every read
 * made outside a transaction. Code already inside a transaction (medplum's conditionalCreate called from
 * processBatch's transaction) is recognised through AsyncLocalStorage and nests as a SAVEPOINT instead of
 * waiting for the mutex it already holds.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { OperationOutcomeError, serverError } from '@medplum/core';
import type { FhirDatabase } from './database.js';

/** A FIFO async mutex: acquire() resolves with the function that releases it. */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();

  /** @returns A promise of the release function, resolved when every earlier holder has released. */
  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => held);
    return previous.then(() => release);
  }
}

interface TransactionScope {
  /** False once the scope has ended: a stray continuation that outlives it must not count as inside. */
  active: boolean;
  /** Nesting depth, names the savepoint of a nested scope. */
  depth: number;
  /** A nested scope is open right now (SQLite savepoints are a stack: siblings cannot overlap). */
  childOpen: boolean;
}

/** Serialises all access to one connection and provides (re-entrant) transactions on it. */
export class TransactionManager {
  private readonly db: FhirDatabase;
  private readonly mutex = new AsyncMutex();
  private readonly scope = new AsyncLocalStorage<TransactionScope>();

  /** @param db - The connection to guard. */
  constructor(db: FhirDatabase) {
    this.db = db;
  }

  /** @returns True when the caller runs inside one of this manager's transactions. */
  inTransaction(): boolean {
    return this.scope.getStore()?.active === true;
  }

  /**
   * Runs `callback` atomically: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when it throws. Inside another
   * transaction it runs as a SAVEPOINT, so a failing nested part is undone even if the outer part
   * catches the error and carries on.
   * @param callback - The work; may await.
   * @returns The callback's result.
   */
  async transaction<T>(callback: () => Promise<T> | T): Promise<T> {
    const current = this.scope.getStore();
    if (current?.active) {
      return this.nested(current, callback);
    }
    const release = await this.mutex.acquire();
    const scope: TransactionScope = { active: true, depth: 0, childOpen: false };
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.scope.run(scope, callback);
        scope.active = false;
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        scope.active = false;
        if (this.db.inTransaction) {
          this.db.exec('ROLLBACK');
        }
        throw err;
      }
    } finally {
      release();
    }
  }

  /**
   * Runs a synchronous write atomically, inside the current transaction when there is one (better-sqlite3
   * then uses a savepoint), else as its own transaction once no other transaction is open.
   * @param work - Synchronous statements.
   * @returns The work's result.
   */
  async write<T>(work: () => T): Promise<T> {
    const atomic = this.db.transaction(work);
    if (this.inTransaction()) {
      return guard(atomic);
    }
    const release = await this.mutex.acquire();
    try {
      return guard(atomic.immediate);
    } finally {
      release();
    }
  }

  /**
   * Runs synchronous reads, waiting for any open transaction of another request to end first so they
   * only ever see committed data (or, inside a transaction, that transaction's own writes).
   * @param work - Synchronous statements.
   * @returns The work's result.
   */
  async read<T>(work: () => T): Promise<T> {
    if (this.inTransaction()) {
      return guard(work);
    }
    const release = await this.mutex.acquire();
    try {
      return guard(work);
    } finally {
      release();
    }
  }

  private async nested<T>(parent: TransactionScope, callback: () => Promise<T> | T): Promise<T> {
    if (parent.childOpen) {
      // Overlapping siblings would release each other's savepoints; every caller we have is sequential.
      throw new Error('Concurrent nested transactions on one connection are not supported');
    }
    const scope: TransactionScope = { active: true, depth: parent.depth + 1, childOpen: false };
    const name = `fhir_sp_${scope.depth}`;
    parent.childOpen = true;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await this.scope.run(scope, callback);
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      if (this.db.inTransaction) {
        this.db.exec(`ROLLBACK TO ${name}`);
        this.db.exec(`RELEASE ${name}`);
      }
      throw err;
    } finally {
      scope.active = false;
      parent.childOpen = false;
    }
  }
}

/**
 * Runs storage work, turning anything but an OperationOutcomeError (a SQLite failure, a corrupt row) into
 * a 500 outcome. medplum's router would otherwise report such errors as 400 with their message, and a
 * message can quote stored content; the diagnostics keep only the error's name and code.
 */
function guard<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      throw err;
    }
    const { name, code } = (err ?? {}) as { name?: unknown; code?: unknown };
    const label = [name, code].filter((v) => typeof v === 'string').join(' ') || 'unknown error';
    throw new OperationOutcomeError(serverError(new Error(label)), err);
  }
}
