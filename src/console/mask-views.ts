/**
 * The console's API answers as a masked caller (access.ts) receives them: phi-mask.ts applied to the
 * record detail and the remap report, field by field, then every string scrubbed of the records' PHI
 * values.
 */
import type { Difference } from '../profiles/workbench/diff.js';
import type { StoredRecord } from '../store/port.js';
import { clientPseudonym, isPhiPath, MASK, maskRecord, maskResource, phiValues, scrub } from './phi-mask.js';
import type { RecordDetail } from './record-detail.js';

/** The record detail as the API sends it: identified, or masked with the client as a pseudonym. */
export function detailView(d: RecordDetail, identified: boolean): Record<string, unknown> {
  const { clientMrn, related, ...rest } = d;
  if (identified) {
    return { ...rest, client: clientMrn, masked: false };
  }
  const values = phiValues([{ kind: d.kind, body: d.record }, ...related.map((r: StoredRecord) => ({ kind: r.kind, body: r.body }))], [clientMrn]);
  const masked = {
    ...rest,
    client: clientPseudonym(clientMrn),
    masked: true,
    record: maskRecord(d.kind, d.record),
    mapped: {
      ...d.mapped,
      ...(d.mapped.resources ? { resources: d.mapped.resources.map((r) => ({ ...r, resource: maskResource(r.resource) })) } : {}),
    },
    sent: d.sent.map((s) => ({
      ...s,
      ...(s.current ? { current: maskResource(s.current) } : {}),
      ...(s.previous ? { previous: { ...s.previous, resource: maskResource(s.previous.resource) } } : {}),
      ...(s.diff ? { diff: maskDiff(s.diff) } : {}),
    })),
  };
  return scrub(masked, values);
}

/** A diff with the values of PHI-bearing paths masked. */
export function maskDiff(diff: Difference[]): Difference[] {
  return diff.map((d) =>
    isPhiPath(d.path)
      ? { path: d.path, before: d.before === undefined ? undefined : MASK, after: d.after === undefined ? undefined : MASK }
      : d
  );
}
