/**
 * What commit logs per settlement: a change once (a hold by id and code, not again while unchanged),
 * ids, codes and server ids only, never PHI.
 */
import type { Logger } from '../logger.js';
import type { Settlement, SettleResult } from '../store/port.js';

/** Logs one committed settlement with the store's answer (superseded, changed, rewoken). */
export function logSettlement(logger: Logger, s: Settlement, r: SettleResult): void {
  const ids = { kind: s.entry.kind, recordId: s.entry.recordId, target: s.entry.target };
  if (r.superseded) {
    logger.debug('sync superseded by a newer version', ids);
    return;
  }
  switch (s.state) {
    case 'synced':
      logger.info('record synced', { ...ids, attempt: s.entry.attempts + 1, written: s.ledger.filter((l) => l.resourceType !== 'Provenance').map((l) => `${l.resourceType}/${l.resourceId}/_history/${l.versionId}`) });
      return;
    case 'not-writable':
      logger.info('record not writable on the target', ids);
      return;
    case 'blocked':
      logger.info('record blocked by policy', ids);
      return;
    case 'held':
      if (r.changed) {
        logger.info('record held', { ...ids, reason: s.code });
      } else {
        logger.debug('record still held', { ...ids, reason: s.code, rewoken: r.rewoken });
      }
      return;
    case 'dead-letter':
      logger.warn('record parked as a dead letter', { ...ids, reason: s.code, codes: (s.outcome?.issue ?? []).map((i) => i.code) });
      return;
    case 'failed':
      logger.warn('record sync failed', {
        ...ids,
        attempt: s.entry.attempts + 1,
        reason: s.code,
        codes: (s.outcome?.issue ?? []).map((i) => i.code),
        retryInMs: Math.max(0, s.nextAttemptAt.getTime() - Date.now()),
      });
  }
}
