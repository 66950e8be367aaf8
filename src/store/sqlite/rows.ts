/** Row <-> domain conversions for the SQLite store. */
import type { RecordKind } from '../../domain/records.js';
import type {
  AuditEntry,
  DeadLetter,
  LedgerEntry,
  OutboxEntry,
  StoredRecord,
  SyncState,
  SyncStateName,
  WriteIntent,
} from '../port.js';

export interface RecordRow {
  kind: string;
  id: string;
  client_mrn: string | null;
  version: number;
  hash: string;
  body: string;
  received_at: string;
  updated_at: string;
}

export function toRecord(r: RecordRow): StoredRecord {
  return {
    kind: r.kind as RecordKind,
    id: r.id,
    clientMrn: r.client_mrn,
    version: r.version,
    hash: r.hash,
    body: JSON.parse(r.body),
    receivedAt: r.received_at,
    updatedAt: r.updated_at,
  };
}

export interface OutboxRow {
  seq: number;
  kind: string;
  record_id: string;
  target: string;
  record_version: number;
  client_key: string;
  attempts: number;
  failures?: number;
  failing_since?: number | null;
}

export function toOutbox(r: OutboxRow): OutboxEntry {
  return {
    seq: r.seq,
    kind: r.kind as RecordKind,
    recordId: r.record_id,
    target: r.target,
    recordVersion: r.record_version,
    clientKey: r.client_key,
    attempts: r.attempts,
    failures: r.failures ?? 0,
    ...(r.failing_since ? { failingSince: r.failing_since } : {}),
  };
}

export interface SyncStateRow {
  kind: string;
  record_id: string;
  target: string;
  state: string;
  reason: string | null;
  reason_code?: string | null;
  outcome: string | null;
  attempts: number;
  next_attempt_at: string | null;
  updated_at: string;
}

export function toSyncState(r: SyncStateRow): SyncState {
  return {
    kind: r.kind as RecordKind,
    recordId: r.record_id,
    target: r.target,
    state: r.state as SyncStateName,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.reason_code ? { reasonCode: r.reason_code } : {}),
    ...(r.outcome ? { outcome: JSON.parse(r.outcome) } : {}),
    attempts: r.attempts,
    ...(r.next_attempt_at ? { nextAttemptAt: r.next_attempt_at } : {}),
    updatedAt: r.updated_at,
  };
}

export interface LedgerRow {
  target: string;
  resource_type: string;
  identifier: string;
  kind: string;
  record_id: string;
  resource_id: string;
  version_id: string;
  record_version: number;
  mapping: string;
  content_hash: string;
  synced_at: string;
}

export function toLedger(r: LedgerRow): LedgerEntry {
  return {
    target: r.target,
    resourceType: r.resource_type,
    identifier: r.identifier,
    kind: r.kind as RecordKind,
    recordId: r.record_id,
    resourceId: r.resource_id,
    versionId: r.version_id,
    recordVersion: r.record_version,
    mapping: r.mapping,
    contentHash: r.content_hash,
    syncedAt: r.synced_at,
  };
}

export interface AuditRow {
  id: string;
  recorded: string;
  client_mrn: string | null;
  kind: string | null;
  record_id: string | null;
  target: string | null;
  category: string;
  outcome: string;
  event: string;
}

export function toAudit(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    recorded: r.recorded,
    clientMrn: r.client_mrn,
    ...(r.kind ? { kind: r.kind as RecordKind } : {}),
    ...(r.record_id ? { recordId: r.record_id } : {}),
    ...(r.target ? { target: r.target } : {}),
    category: r.category,
    outcome: r.outcome as AuditEntry['outcome'],
    event: JSON.parse(r.event),
  };
}

export interface DeadLetterRow {
  kind: string;
  record_id: string;
  target: string;
  client_mrn: string | null;
  record_version: number;
  attempts: number;
  failures: number;
  dead_at: number;
  reason: string | null;
  reason_code: string | null;
  outcome: string | null;
}

export function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return {
    kind: r.kind as RecordKind,
    recordId: r.record_id,
    target: r.target,
    clientMrn: r.client_mrn,
    recordVersion: r.record_version,
    attempts: r.attempts,
    failures: r.failures,
    deadAt: new Date(r.dead_at).toISOString(),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.reason_code ? { reasonCode: r.reason_code } : {}),
    ...(r.outcome ? { outcome: JSON.parse(r.outcome) } : {}),
  };
}

export interface WriteIntentRow {
  target: string;
  resource_type: string;
  identifier: string;
  kind: string;
  record_id: string;
  created_at: string;
}

export function toWriteIntent(r: WriteIntentRow): WriteIntent {
  return {
    target: r.target,
    resourceType: r.resource_type,
    identifier: r.identifier,
    kind: r.kind as RecordKind,
    recordId: r.record_id,
    createdAt: r.created_at,
  };
}
