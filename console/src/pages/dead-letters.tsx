/**
 * Dead letters and the review list. Dead letters: inspect one (its record page), replay one, or
 * replay every one matching a filter; each replayed record's outcome shows as it happens. Review:
 * records held because the target has no (or several) Patient for the MRN or Practitioner for the
 * NPI; once the EHR is fixed, retry them.
 */
import { useState } from 'preact/hooks';
import { get, post, v1 } from '../api';
import { Card, Empty, ErrorBox, Loading, MaskedNote, Tabs } from '../components/ui';
import { WatchOutcome, type Watched } from '../components/watch';
import { useLoad } from '../hooks';
import { href, navigate, type Route } from '../router';
import { KINDS, REVIEW_CODES, type RecordRow, type RecordsPage } from '../types';
import { RecordTable } from './records';

type Tab = 'dead' | 'review';

export function DeadLettersPage(p: { route: Route }) {
  const tab = (p.route.query.get('tab') as Tab) || 'dead';
  return (
    <div class="page dead-letters">
      <Tabs<Tab>
        tabs={[
          { id: 'dead', label: 'Dead letters' },
          { id: 'review', label: 'Review list' },
        ]}
        active={tab}
        onSelect={(t) => navigate('dead-letters', { tab: t })}
      />
      {tab === 'dead' ? <DeadLetters /> : <Review />}
    </div>
  );
}

function DeadLetters() {
  const list = useLoad(() => get<RecordsPage>(v1('/records'), { query: { state: 'dead-letter', limit: 200 } }), [], 10_000);
  const [watched, setWatched] = useState<Map<string, Watched>>(new Map());
  const [message, setMessage] = useState<string | undefined>();
  const [error, setError] = useState<Error | undefined>();

  const watch = (rows: { kind: string; id: string }[], since: string): void => {
    setWatched((prev) => {
      const next = new Map(prev);
      rows.forEach((r) => next.set(`${r.kind}/${r.id}`, { kind: r.kind, id: r.id, since }));
      return next;
    });
  };

  const replayOne = async (r: RecordRow): Promise<void> => {
    setError(undefined);
    const since = new Date().toISOString();
    try {
      await post(v1(`/sync/dead-letters/${r.kind}/${encodeURIComponent(r.id)}/replay`), undefined, { query: { target: r.target } });
      watch([r], since);
    } catch (e) {
      setError(e as Error);
    }
  };

  const replayMatching = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const filter: Record<string, string> = {};
    for (const k of ['kind', 'reason', 'target']) {
      const v = String(form.get(k) ?? '').trim();
      if (v) filter[k] = v;
    }
    const rows = (list.data?.records ?? []).filter((r) => (!filter.kind || r.kind === filter.kind) && (!filter.reason || r.reasonCode === filter.reason) && (!filter.target || r.target === filter.target));
    const since = new Date().toISOString();
    try {
      const body = Object.keys(filter).length > 0 ? filter : { all: true };
      const res = await post<{ replayed: number }>(v1('/sync/dead-letters/replay'), body);
      setMessage(`${res.replayed} dead letters queued again; consent is checked again before each goes.`);
      watch(rows, since);
    } catch (err) {
      setError(err as Error);
    }
  };

  const rows = list.data?.records ?? [];
  const reasons = [...new Set(rows.map((r) => r.reasonCode).filter((x): x is string => !!x))];
  return (
    <>
      <Card title="Replay by filter">
        <form class="filters" onSubmit={(e) => void replayMatching(e)} data-testid="replay-filter">
          <label>
            Kind
            <select name="kind">
              <option value="">any</option>
              {KINDS.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </label>
          <label>
            Reason
            <select name="reason">
              <option value="">any</option>
              {reasons.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <label>
            Target
            <input name="target" placeholder="any" />
          </label>
          <div class="filter-actions">
            <button type="submit" class="primary" disabled={rows.length === 0}>
              Replay matching
            </button>
          </div>
        </form>
        {message && <p class="ok-text">{message}</p>}
        <ErrorBox error={error} />
      </Card>
      <Card title={`${rows.length}${list.data?.next ? '+' : ''} dead letters`}>
        <MaskedNote masked={list.data?.masked} />
        <ErrorBox error={list.error} />
        {!list.data && <Loading />}
        {list.data && rows.length === 0 && watched.size === 0 && <Empty>No dead letters.</Empty>}
        {rows.length > 0 && (
          <RecordTable
            rows={rows}
            extraHead="Action"
            extra={(r) => (
              <div class="row-actions">
                <a class="button" href={href(`records/${r.kind}/${encodeURIComponent(r.id)}`)}>
                  Inspect
                </a>
                <button type="button" class="primary" onClick={() => void replayOne(r)} data-testid={`replay-${r.kind}-${r.id}`}>
                  Replay
                </button>
              </div>
            )}
          />
        )}
      </Card>
      {watched.size > 0 && (
        <Card title="Replayed">
          <ul class="watched">
            {[...watched.values()].map((w) => (
              <li key={`${w.kind}/${w.id}`}>
                <a href={href(`records/${w.kind}/${encodeURIComponent(w.id)}`)}>
                  <span class="kind">{w.kind}</span> {w.id}
                </a>{' '}
                <WatchOutcome {...w} onSettled={() => list.reload()} />
              </li>
            ))}
          </ul>
        </Card>
      )}
    </>
  );
}

function Review() {
  const list = useLoad(async () => {
    const pages = await Promise.all(REVIEW_CODES.map((reason) => get<RecordsPage>(v1('/records'), { query: { state: 'held', reason, limit: 200 } })));
    return { masked: pages.some((p) => p.masked), records: pages.flatMap((p) => p.records).sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1)) };
  }, [], 10_000);
  const [watched, setWatched] = useState<Watched[]>([]);
  const [error, setError] = useState<Error | undefined>();
  const retry = async (rows: RecordRow[]): Promise<void> => {
    setError(undefined);
    const since = new Date().toISOString();
    try {
      for (const r of rows) {
        await post(v1('/sync/retry'), { kind: r.kind, id: r.id, target: r.target });
      }
      setWatched((prev) => [...prev.filter((w) => !rows.some((r) => r.kind === w.kind && r.id === w.id)), ...rows.map((r) => ({ kind: r.kind, id: r.id, since }))]);
    } catch (e) {
      setError(e as Error);
    }
  };
  const rows = list.data?.records ?? [];
  return (
    <>
      <Card
        title={`${rows.length} records to review`}
        actions={
          rows.length > 0 && (
            <button type="button" onClick={() => void retry(rows)}>
              Retry all
            </button>
          )
        }
      >
        <p class="muted">
          Held because the target has no Patient with the client's MRN, or several, or no Practitioner with the clinician's NPI. Fix it in the EHR, then retry.
        </p>
        <MaskedNote masked={list.data?.masked} />
        <ErrorBox error={list.error ?? error} />
        {!list.data && <Loading />}
        {list.data && rows.length === 0 && <Empty>Nothing to review.</Empty>}
        {rows.length > 0 && (
          <RecordTable
            rows={rows}
            extraHead="Action"
            extra={(r) => (
              <button type="button" onClick={() => void retry([r])}>
                Retry
              </button>
            )}
          />
        )}
      </Card>
      {watched.length > 0 && (
        <Card title="Retried">
          <ul class="watched">
            {watched.map((w) => (
              <li key={`${w.kind}/${w.id}`}>
                <span class="kind">{w.kind}</span> {w.id} <WatchOutcome {...w} onSettled={() => list.reload()} />
              </li>
            ))}
          </ul>
        </Card>
      )}
    </>
  );
}
