/**
 * After a replay or retry: follows the record's state until the sync has done something with it
 * (a state change after the action), so the person sees the outcome happen.
 */
import { useEffect, useState } from 'preact/hooks';
import { get, v1 } from '../api';
import type { RecordRow, RecordsPage } from '../types';
import { reasonText } from '../format';
import { StateBadge } from './ui';

const SETTLED = new Set(['synced', 'dead-letter', 'held', 'failed', 'blocked', 'not-writable']);

export interface Watched {
  kind: string;
  id: string;
  /** When the action was taken (ISO): only a later state change counts. */
  since: string;
}

/** The record's state on each target, polled each second for up to a minute. */
export function WatchOutcome(p: Watched & { onSettled?: (rows: RecordRow[]) => void }) {
  const [rows, setRows] = useState<RecordRow[] | undefined>();
  const [gaveUp, setGaveUp] = useState(false);
  useEffect(() => {
    let stop = false;
    const started = Date.now();
    const tick = async (): Promise<void> => {
      if (stop) return;
      try {
        const page = await get<RecordsPage>(v1('/records'), { query: { kind: p.kind, id: p.id } });
        setRows(page.records);
        const done = page.records.length > 0 && page.records.every((r) => SETTLED.has(r.state) && r.updatedAt > p.since);
        if (done) {
          p.onSettled?.(page.records);
          return;
        }
      } catch {
        // keep trying: the service may be busy
      }
      if (Date.now() - started > 60_000) {
        setGaveUp(true);
        return;
      }
      setTimeout(() => void tick(), 1000);
    };
    void tick();
    return () => {
      stop = true;
    };
  }, [p.kind, p.id, p.since]);
  const settled = rows && rows.length > 0 && rows.every((r) => SETTLED.has(r.state) && r.updatedAt > p.since);
  return (
    <span class="watch" data-testid={`outcome-${p.kind}-${p.id}`} data-settled={settled ? 'true' : 'false'}>
      {!rows && 'queued…'}
      {rows?.map((r) => (
        <span key={r.target} class="watch-row">
          {settled ? '→ ' : 'waiting… '}
          <StateBadge state={r.state} />
          {settled && r.state !== 'synced' && r.reason && <span class="muted"> {reasonText(r.reason, r.reasonCode)}</span>}
        </span>
      ))}
      {gaveUp && !settled && <span class="muted"> (still waiting after a minute; see the record)</span>}
    </span>
  );
}
