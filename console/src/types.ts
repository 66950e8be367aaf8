/** Shapes of the API answers the pages read (the OpenAPI description has them in full: #/api). */
import type { OperationOutcome } from './api';
import type { Difference } from './components/ui';

export const STATES = ['pending', 'synced', 'held', 'failed', 'dead-letter', 'not-writable', 'blocked'] as const;
export const KINDS = ['participant', 'consent', 'session', 'note'] as const;
export const REVIEW_CODES = ['patient-not-found', 'patient-ambiguous', 'practitioner-not-found', 'practitioner-ambiguous'] as const;

export interface SyncStatus {
  targets: Record<string, Record<string, number>>;
  outbox: number;
  deadLetters: number;
  delivery: Record<string, { queued: number; deadLetters: number; oldestPendingAt?: string; oldestPendingAgeSeconds?: number; heldBy: Record<string, number> }>;
}

export interface CapabilityState {
  ok: boolean;
  readAt?: string;
  fhirVersion?: string;
  software?: string;
  reason?: string;
}

export interface TargetInfo {
  name: string;
  url: string;
  embedded: boolean;
  auth: string;
  token?: { obtainedAt?: string; expiresAt?: string; requestedScope: string; grantedScope?: string; missingPermissions: string[]; lastError?: string };
  capabilities: CapabilityState;
  health: {
    lastResponseAt?: string;
    lastStatusClass?: string;
    lastSuccessAt?: string;
    consecutiveFailures: number;
    requests: number;
    throttledLastHour: number;
    lastThrottledAt?: string;
    lastRetryAfterSeconds?: number;
    pausedUntil?: string;
  };
}

export interface Throughput {
  minutes: number;
  bucketSeconds: number;
  synced: number;
  failed: number;
  buckets: { start: string; synced: number; failed: number }[];
}

export interface RecordRow {
  kind: string;
  id: string;
  target: string;
  state: string;
  reason?: string;
  reasonCode?: string;
  attempts: number;
  nextAttemptAt?: string;
  updatedAt: string;
  client: string | null;
  recordVersion: number;
  recordUpdatedAt: string;
}

export interface RecordsPage {
  count: number;
  masked: boolean;
  records: RecordRow[];
  next?: string;
}

export interface SyncStateView {
  target: string;
  state: string;
  reason?: string;
  reasonCode?: string;
  outcome?: OperationOutcome;
  attempts: number;
  nextAttemptAt?: string;
  updatedAt: string;
  resources?: { resourceType: string; id: string; versionId: string; identifier: string; mapping: string }[];
}

export interface MappedResource {
  resourceType: string;
  key: string;
  write: string;
  profile?: string;
  valid: boolean;
  issues: { severity?: string; code?: string; details?: { text?: string }; expression?: string[] }[];
  resource: Record<string, unknown>;
}

export interface RecordDetail {
  kind: string;
  id: string;
  version: number;
  receivedAt: string;
  updatedAt: string;
  client: string | null;
  masked: boolean;
  record: Record<string, unknown>;
  sync: SyncStateView[];
  consent: { target: string; effect?: string; reasons: string[]; consentIds?: string[]; purposeOfUse?: string; waiting?: string }[];
  mapped: { status: string; mapping?: string; resources?: MappedResource[]; reason?: string };
  sent: {
    target: string;
    resourceType: string;
    id: string;
    versionId: string;
    identifier: string;
    mapping: string;
    syncedAt: string;
    current?: Record<string, unknown>;
    previous?: { versionId: string; resource: Record<string, unknown> };
    diff?: Difference[];
    unreadable?: string;
  }[];
  attempts: { at: string; target?: string; outcome: string; interaction?: string; resources: string[]; failure?: string; purposeOfUse?: string; consentIds: string[]; auditEventId: string }[];
}

export interface MapResult {
  line?: number;
  kind?: string;
  id?: string;
  status: 'valid' | 'invalid' | 'rejected';
  mapping?: string;
  resources?: MappedResource[];
  outcome?: OperationOutcome;
}

export interface RemapReport {
  candidate: boolean;
  masked: boolean;
  target: string;
  mappings: string[];
  records: number;
  resources: { unchanged: number; changed: number; new: number };
  changes: { kind: string; recordId: string; resourceType: string; identifier: string; status: string; before?: string; after: string; issues: MappedResource['issues']; diff?: Difference[]; diffNote?: string }[];
  notMapped: { kind: string; recordId: string; reason: string }[];
  skipped: { kind: string; recordId: string }[];
}
