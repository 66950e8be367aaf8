/** The DeliveryFilter as SQL, shared by the status queries and the outbox's wake-ups. */
import type { DeliveryFilter } from '../types.js';

/** The filter on an outbox or sync_state alias (both have kind, record_id, target). */
export function deliveryFilterSql(alias: string): string {
  return `(@target IS NULL OR ${alias}.target = @target) AND (@kind IS NULL OR ${alias}.kind = @kind)
    AND (@recordId IS NULL OR ${alias}.record_id = @recordId)
    AND (@mrn IS NULL OR EXISTS (SELECT 1 FROM records fr WHERE fr.kind = ${alias}.kind AND fr.id = ${alias}.record_id AND fr.client_mrn = @mrn))
    AND (@code IS NULL OR EXISTS (SELECT 1 FROM sync_state fs WHERE fs.kind = ${alias}.kind AND fs.record_id = ${alias}.record_id
                                  AND fs.target = ${alias}.target AND fs.reason_code = @code))`;
}

export function deliveryFilterParams(f: DeliveryFilter): Record<string, string | null> {
  return {
    target: f.target ?? null,
    kind: f.kind ?? null,
    recordId: f.recordId ?? null,
    mrn: f.clientMrn ?? null,
    code: f.reasonCode ?? null,
  };
}
