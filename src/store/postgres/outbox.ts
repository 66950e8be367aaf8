/**
 * The outbox slice on PostgreSQL: the delivery state machine shared by several instances.
 *
 * - A claim takes due queue heads (outbox_head: one per client and target) with `FOR UPDATE SKIP LOCKED`,
 *   so instances claiming at once take different clients without waiting for each other, and leases each
 *   claimed client to this instance (lease_until, lease_owner): at most one entry of a client is in
 *   flight anywhere. A lease of an instance that died is taken over once it has expired.
 * - A settlement commits the entry's change, the record's sync state, the ledger and audit entries, the
 *   lease's release and the wake-ups it causes in one transaction, and releases only this instance's
 *   own lease (an expired lease another instance took over stays with it).
 * - Every change that may make work due (a put, a release, a wake-up, a requeue) sends a NOTIFY on the
 *   store's channel at commit; every instance LISTENs (listener.ts) and wakes its worker.
 * - Transactions that change several clients' queues lock their heads first, in one order (lockHeads),
 *   so they do not deadlock on each other; a deadlock that remains is retried by db.tx.
 */
import { randomUUID } from 'node:crypto';
import type { RecordKind } from '../../domain/records.js';
import type { OutboxStore } from '../port.js';
import { type OutboxRow, type RecordRow, toOutbox } from '../sqlite/rows.js';
import type { DeliveryFilter, OutboxEntry, SettleResult, Settlement, WakeEvent } from '../types.js';
import { insertAuditRows } from './audit.js';
import type { PgDb, Queryable } from './db.js';
import { stateFilter } from './filters.js';
import { upsertLedgerRows } from './ledger.js';
import type { WorkListener } from './listener.js';
import { dueNow, lockHeads } from './queue-rows.js';
import { getSyncStateCode, setSyncState } from './sync-state-rows.js';

/** Rows one wake-up or requeue changes per transaction. */
const WAKE_CHUNK = 500;

export class PgOutbox implements OutboxStore {
  /**
   * @param owner - this instance's name on the leases it holds; stable across its restarts (INSTANCE_ID),
   *   so a restarted instance takes its own leases back at once (releaseOwnLeases) instead of waiting
   *   for them to expire.
   */
  constructor(
    private readonly db: PgDb,
    private readonly listener: WorkListener,
    readonly owner: string = randomUUID()
  ) {}

  /**
   * Releases the leases this instance holds: at open (they belong to a run of this instance that died:
   * kill -9, power loss) and at close (sends still in flight were abandoned). Other instances are told.
   */
  async releaseOwnLeases(): Promise<number> {
    return this.db.tx(async (c) => {
      const r = await c.query<{ target: string }>(
        `UPDATE outbox_head SET lease_until = NULL, lease_owner = NULL, rewake = false
         WHERE lease_until IS NOT NULL AND lease_owner = $1 RETURNING target`,
        [this.owner]
      );
      for (const target of new Set(r.rows.map((row) => row.target))) {
        await this.db.notifyWork(c, target);
      }
      return r.rows.length;
    });
  }

  async claimOutbox(target: string, limit: number, leaseMs: number, now = new Date()): Promise<OutboxEntry[]> {
    const t = now.getTime();
    return this.db.tx(async (c) => {
      const keys = (
        await c.query<{ client_key: string }>(
          `SELECT client_key FROM outbox_head WHERE target = $1 AND lease_until IS NULL AND due_at IS NOT NULL AND due_at <= $2
           ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [target, t, limit]
        )
      ).rows.map((r) => r.client_key);
      if (keys.length < limit) {
        // Leases that expired: an instance died mid-attempt (or is far too slow).
        const expired = await c.query<{ client_key: string }>(
          `SELECT client_key FROM outbox_head WHERE target = $1 AND lease_until IS NOT NULL AND lease_until < $2 AND due_at <= $2
           ORDER BY lease_until LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [target, t, limit - keys.length]
        );
        keys.push(...expired.rows.map((r) => r.client_key));
      }
      if (keys.length === 0) {
        return [];
      }
      const rows = await c.query<OutboxRow>(
        `SELECT o.* FROM unnest($1::text[]) WITH ORDINALITY AS k(client_key, n)
         CROSS JOIN LATERAL (SELECT * FROM outbox WHERE client_key = k.client_key AND target = $2 AND dead_at IS NULL
                             AND next_attempt_at <= $3 ORDER BY next_attempt_at, seq LIMIT 1) o
         ORDER BY k.n`,
        [keys, target, t]
      );
      await c.query('UPDATE outbox_head SET lease_until = $1, lease_owner = $2, rewake = false WHERE target = $3 AND client_key = ANY($4::text[])', [
        t + leaseMs,
        this.owner,
        target,
        rows.rows.map((r) => r.client_key),
      ]);
      return rows.rows.map(toOutbox);
    });
  }

  async settle(settlements: Settlement[], now = new Date()): Promise<SettleResult[]> {
    let overflow: { key: string; target: string }[] = [];
    const results = await this.db.tx(async (c) => {
      overflow = [];
      await lockHeads(
        c,
        settlements.map((s) => ({ clientKey: s.entry.clientKey, target: s.entry.target }))
      );
      const out: SettleResult[] = [];
      for (const s of settlements) {
        out.push(await this.settleOne(c, s, now, overflow));
      }
      for (const target of new Set(settlements.map((s) => s.entry.target))) {
        await this.db.notifyWork(c, target);
      }
      return out;
    });
    for (const { key, target } of overflow) {
      await this.wakeInChunks(key, target, now.getTime());
    }
    return results;
  }

  private async settleOne(c: Queryable, s: Settlement, now: Date, overflow: { key: string; target: string }[]): Promise<SettleResult> {
    const e = s.entry;
    const iso = now.toISOString();
    const t = now.getTime();
    await insertAuditRows(c, s.audit ?? []);
    const head = (
      await c.query<{ rewake: boolean; lease_owner: string | null }>('SELECT rewake, lease_owner FROM outbox_head WHERE client_key = $1 AND target = $2', [
        e.clientKey,
        e.target,
      ])
    ).rows[0];
    const row = (await c.query<{ record_version: number; arrived_at: number | null }>('SELECT record_version, arrived_at FROM outbox WHERE seq = $1', [e.seq]))
      .rows[0];
    const before = await getSyncStateCode(c, e.kind, e.recordId, e.target);
    await c.query('DELETE FROM outbox_wait WHERE seq = $1', [e.seq]);
    const key = { kind: e.kind, recordId: e.recordId, target: e.target, now: iso };
    let result: SettleResult = { changed: false, superseded: false, rewoken: false };
    let end: { state: string; code: string | null } | undefined;
    if (s.state === 'synced' || s.state === 'not-writable') {
      await upsertLedgerRows(c, s.ledger ?? []);
    }
    if (!row) {
      // Removed meanwhile (local-only at intake, or settled by an instance whose lease had expired).
    } else if (row.record_version > e.recordVersion) {
      result = { ...result, superseded: true };
    } else {
      switch (s.state) {
        case 'synced':
        case 'not-writable': {
          await c.query('DELETE FROM outbox WHERE seq = $1', [e.seq]);
          const reason = s.state === 'synced' ? s.note : s.reason;
          const code = s.state === 'not-writable' ? 'not-writable' : undefined;
          await setSyncState(c, { ...key, state: s.state, ...(reason ? { reason } : {}), ...(code ? { code } : {}), attempts: e.attempts + 1 });
          end = { state: s.state, code: code ?? null };
          break;
        }
        case 'held': {
          const rewoken = head?.rewake === true && head.lease_owner === this.owner;
          const next = rewoken ? Math.min(t, row.arrived_at ?? t) : s.recheckAt.getTime();
          await c.query('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1 WHERE seq = $2', [next, e.seq]);
          const waits = [...new Set(s.waitFor ?? [])];
          if (waits.length > 0) {
            await c.query(
              `INSERT INTO outbox_wait (wait_key, target, seq) SELECT k, $2, $3 FROM unnest($1::text[]) AS k ON CONFLICT DO NOTHING`,
              [waits, e.target, e.seq]
            );
          }
          await setSyncState(c, { ...key, state: 'held', reason: s.reason, code: s.code, attempts: e.attempts + 1, nextAttemptAt: new Date(next).toISOString() });
          end = { state: 'held', code: s.code };
          result = { ...result, rewoken };
          break;
        }
        case 'failed': {
          const counts = s.countFailure ?? true;
          await c.query(
            `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, failures = failures + $2,
               failing_since = CASE WHEN $3 THEN COALESCE(failing_since, $4) ELSE failing_since END
             WHERE seq = $5`,
            [s.nextAttemptAt.getTime(), counts ? 1 : 0, counts, t, e.seq]
          );
          await setSyncState(c, {
            ...key,
            state: 'failed',
            reason: s.reason,
            code: s.code,
            ...(s.outcome ? { outcome: s.outcome } : {}),
            attempts: e.attempts + 1,
            nextAttemptAt: s.nextAttemptAt.toISOString(),
          });
          end = { state: 'failed', code: s.code };
          break;
        }
        case 'dead-letter':
          await c.query('UPDATE outbox SET attempts = attempts + 1, failures = failures + 1, dead_at = $1 WHERE seq = $2', [t, e.seq]);
          await setSyncState(c, { ...key, state: 'dead-letter', reason: s.reason, code: s.code, ...(s.outcome ? { outcome: s.outcome } : {}), attempts: e.attempts + 1 });
          end = { state: 'dead-letter', code: s.code };
          break;
        case 'blocked':
          await c.query('DELETE FROM outbox WHERE seq = $1', [e.seq]);
          await setSyncState(c, { ...key, state: 'blocked', reason: s.reason, attempts: e.attempts + 1 });
          end = { state: 'blocked', code: null };
          break;
      }
    }
    await this.releaseLease(c, e.clientKey, e.target);
    for (const k of new Set(s.wake ?? [])) {
      if ((await this.wakeChunk(c, k, e.target, t)).taken === WAKE_CHUNK) {
        overflow.push({ key: k, target: e.target });
      }
    }
    const changed = end !== undefined && (before?.state !== end.state || (before?.reason_code ?? null) !== end.code);
    return { ...result, changed };
  }

  /** Ends this instance's lease of the client (not one another instance took over); an empty queue's head goes. */
  private async releaseLease(c: Queryable, clientKey: string, target: string): Promise<void> {
    await c.query('UPDATE outbox_head SET lease_until = NULL, lease_owner = NULL, rewake = false WHERE client_key = $1 AND target = $2 AND lease_owner = $3', [
      clientKey,
      target,
      this.owner,
    ]);
    await c.query(
      `DELETE FROM outbox_head WHERE client_key = $1 AND target = $2 AND due_at IS NULL AND lease_until IS NULL
         AND NOT EXISTS (SELECT 1 FROM outbox WHERE client_key = $1 AND target = $2)`,
      [clientKey, target]
    );
  }

  async requeue(keys: { kind: RecordKind; id: string }[], target: string): Promise<number> {
    let n = 0;
    for (let i = 0; i < keys.length; i += WAKE_CHUNK) {
      const chunk = keys.slice(i, i + WAKE_CHUNK);
      n += await this.db.tx(async (c) => {
        let queued = 0;
        const now = new Date().toISOString();
        for (const k of chunk) {
          queued += await this.requeueOne(c, k, target, now);
        }
        await this.db.notifyWork(c, target);
        return queued;
      });
    }
    return n;
  }

  private async requeueOne(c: Queryable, k: { kind: RecordKind; id: string }, target: string, now: string): Promise<number> {
    const row = (await c.query<RecordRow>('SELECT client_mrn, version FROM records WHERE kind = $1 AND id = $2', [k.kind, k.id])).rows[0];
    const blocked = (
      await c.query("SELECT 1 FROM sync_state WHERE kind = $1 AND record_id = $2 AND target = 'local' AND state = 'blocked'", [k.kind, k.id])
    ).rows[0];
    if (!row || blocked) {
      return 0;
    }
    const queued = (await c.query<{ client_key: string }>('SELECT client_key FROM outbox WHERE kind = $1 AND record_id = $2 LIMIT 1', [k.kind, k.id])).rows[0];
    const clientKey = row.client_mrn ?? queued?.client_key ?? `record:${k.kind}/${k.id}`;
    const t = Date.parse(now);
    await c.query(
      `INSERT INTO outbox (kind, record_id, target, record_version, client_key, attempts, next_attempt_at, enqueued_at, arrived_at)
       VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $6)
       ON CONFLICT (kind, record_id, target) DO UPDATE SET record_version = excluded.record_version,
         attempts = 0, next_attempt_at = ${dueNow('$6')}, dead_at = NULL, failures = 0, failing_since = NULL`,
      [k.kind, k.id, target, row.version, clientKey, t, now]
    );
    await setSyncState(c, { kind: k.kind, recordId: k.id, target, state: 'pending', attempts: 0, now });
    return 1;
  }

  async wakeWaiting(filter: DeliveryFilter & { state?: 'held' | 'failed' }): Promise<number> {
    let n = 0;
    for (;;) {
      const changed = await this.db.tx(async (c) => {
        const f = stateFilter(filter, filter.state ? [filter.state] : ['held', 'failed'], 1);
        const join = filter.clientMrn !== undefined ? 'JOIN records r ON r.kind = s.kind AND r.id = s.record_id' : '';
        const t = Date.now();
        const seqs = (
          await c.query<{ seq: number; target: string }>(
            `SELECT o.seq, o.target FROM sync_state s ${join}
             JOIN outbox o ON o.kind = s.kind AND o.record_id = s.record_id AND o.target = s.target
             WHERE ${[...f.where, 'o.dead_at IS NULL', `o.next_attempt_at > $${f.params.length + 1}`].join(' AND ')} LIMIT ${WAKE_CHUNK}`,
            [...f.params, t]
          )
        ).rows;
        return this.makeDue(c, seqs, t);
      });
      n += changed;
      if (changed < WAKE_CHUNK) {
        return n;
      }
    }
  }

  /** Makes these entries due now (from their arrival), locking their heads in order first; notifies their targets. */
  private async makeDue(c: Queryable, entries: { seq: number; target: string }[], t: number): Promise<number> {
    if (entries.length === 0) {
      return 0;
    }
    const seqs = entries.map((e) => e.seq);
    await c.query(
      `SELECT 1 FROM outbox_head h JOIN outbox o ON o.client_key = h.client_key AND o.target = h.target
       WHERE o.seq = ANY($1::bigint[]) ORDER BY h.client_key, h.target FOR UPDATE OF h`,
      [seqs]
    );
    const r = await c.query(`UPDATE outbox SET next_attempt_at = ${dueNow('$2')} WHERE seq = ANY($1::bigint[]) AND dead_at IS NULL AND next_attempt_at > $2`, [
      seqs,
      t,
    ]);
    for (const target of new Set(entries.map((e) => e.target))) {
      await this.db.notifyWork(c, target);
    }
    return r.rowCount ?? 0;
  }

  async wake(event: WakeEvent, now = new Date()): Promise<number> {
    const t = now.getTime();
    const clients = [...new Set(event.clientKeys ?? [])];
    if (clients.length > 0) {
      // Committed on its own, before the waits are read: a settlement of these clients either sees the
      // flag (it locks the head first) or committed its waits before the chunks below read them.
      await this.db.tx((c) =>
        c.query(
          `UPDATE outbox_head SET rewake = true WHERE (client_key, target) IN
             (SELECT client_key, target FROM outbox_head WHERE client_key = ANY($1::text[]) AND lease_until IS NOT NULL
              ORDER BY client_key, target FOR UPDATE)`,
          [clients]
        )
      );
    }
    let n = 0;
    for (const key of new Set(event.keys)) {
      n += await this.wakeInChunks(key, event.target, t);
    }
    return n;
  }

  private async wakeInChunks(key: string, target: string | undefined, t: number): Promise<number> {
    let n = 0;
    for (;;) {
      const { taken, woken } = await this.db.tx((c) => this.wakeChunk(c, key, target, t));
      n += woken;
      if (taken < WAKE_CHUNK) {
        return n;
      }
    }
  }

  /** Takes up to WAKE_CHUNK waits on `key` and makes their entries due; call inside a transaction. */
  private async wakeChunk(c: Queryable, key: string, target: string | undefined, t: number): Promise<{ taken: number; woken: number }> {
    const byTarget = target !== undefined ? ' AND target = $2' : '';
    const params = target !== undefined ? [key, target] : [key];
    const taken = (
      await c.query<{ seq: number; target: string }>(
        `DELETE FROM outbox_wait WHERE (wait_key, target, seq) IN
           (SELECT wait_key, target, seq FROM outbox_wait WHERE wait_key = $1${byTarget} LIMIT ${WAKE_CHUNK} FOR UPDATE SKIP LOCKED)
         RETURNING seq, target`,
        params
      )
    ).rows;
    return { taken: taken.length, woken: await this.makeDue(c, taken, t) };
  }

  async nextDueAt(target: string): Promise<Date | undefined> {
    const r = await this.db.query<{ t: number | null }>(
      'SELECT MIN(due_at) AS t FROM outbox_head WHERE target = $1 AND lease_until IS NULL AND due_at IS NOT NULL',
      [target]
    );
    const earliest = r.rows[0]?.t;
    return earliest === null || earliest === undefined ? undefined : new Date(earliest);
  }

  /** Calls `listener` whenever any instance commits a change that may make work due on `target`. */
  onWorkMaybeDue(target: string, listener: () => void): () => void {
    return this.listener.subscribe(target, listener);
  }
}
