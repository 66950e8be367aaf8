/**
 * The sync's own credential for the embedded FHIR server: a random secret made at every start and kept
 * only in memory, so it never appears in a file, an environment variable or a log, and no API token
 * can stand in for it. Its principal holds the internal role `fhir-sync`, which the route table admits
 * to FHIR reads and searches, to writes of the resource types the sync produces, and to batch and
 * transaction Bundles whose entries are each one of those; nothing else (no delete, no Patient or
 * AuditEvent write, no inbound API).
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from './principal.js';

export const SYNC_PRINCIPAL: Principal = Object.freeze({ name: 'sync', roles: Object.freeze(['fhir-sync'] as const), via: 'internal' as const });

/** A secret and the principal it stands for. */
export interface InternalCredential {
  token: string;
  principal: Principal;
}

/** A fresh credential for the sync worker of this process. */
export function createSyncCredential(): InternalCredential {
  return { token: `cfi_${randomBytes(32).toString('base64url')}`, principal: SYNC_PRINCIPAL };
}
