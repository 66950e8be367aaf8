/**
 * Records: the listing with its filters (kind, state, reason, target, dates in the link; the client's
 * MRN only in memory, sent in the X-Client-MRN header, never in a URL), a page at a time.
 */
import { useEffect, useState } from 'preact/hooks';
import { get, v1 } from '../api';
import { Card, Empty, ErrorBox, Loading, MaskedNote, StateBadge, Time } from '../components/ui';
import { localToIso, reasonText } from '../format';
import { href, navigate, type Route } from '../router';
import { KINDS, type RecordRow, type RecordsPage, STATES } from '../types';

const FILTERS = ['kind', 'state', 'reason', 'target', 'since', 'until'] as const;
const COMMON_REASONS = ['no-consent', 'waiting-for-record', 'patient-not-found', 'patient-ambiguous', 'practitioner-not-found', 'upstream-422', 'upstream-400', 'upstream-5xx'];

/** Kept for the tab's life, never in the URL. */
let rememberedClient = '';

export function RecordsPage(p: { route: Route }) {
  const q = p.route.query;
  const filters = Object.fromEntries(FILTERS.map((f) => [f, q.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const [client, setClient] = useState(rememberedClient);
  const [rows, setRows] = useState<RecordRow[] | undefined>();
  const [masked, setMasked] = useState(false);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [loading, setLoading] = useState(false);
  const key = `${q.toString()}|${client}`;

  const load = async (cursor?: string): Promise<void> => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await get<RecordsPage>(v1('/records'), {
        query: { ...filters, limit: 50, cursor },
        headers: client ? { 'X-Client-MRN': client } : {},
      });
      setRows((prev) => (cursor ? [...(prev ?? []), ...page.records] : page.records));
      setMasked(page.masked);
      setNext(page.next);
    } catch (e) {
      setError(e as Error);
      if (!cursor) setRows([]);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load();
  }, [key]);

  const apply = (e: Event): void => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const value = (k: string): string | undefined => (String(form.get(k) ?? '').trim() || undefined);
    rememberedClient = value('client') ?? '';
    setClient(rememberedClient);
    navigate('records', {
      kind: value('kind'),
      state: value('state'),
      reason: value('reason'),
      target: value('target'),
      since: localToIso(value('since') ?? ''),
      until: localToIso(value('until') ?? ''),
    });
  };

  return (
    <div class="page records">
      <Card title="Find records">
        <form class="filters" onSubmit={apply} data-testid="record-filters" key={key}>
          <label>
            Kind
            <select name="kind">
              <option value="">any</option>
              {KINDS.map((k) => (
                <option key={k} value={k} selected={filters.kind === k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          <label>
            State
            <select name="state">
              <option value="">any</option>
              {STATES.map((s) => (
                <option key={s} value={s} selected={filters.state === s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Reason
            <input name="reason" list="reason-codes" defaultValue={filters.reason} placeholder="any" />
            <datalist id="reason-codes">
              {COMMON_REASONS.map((r) => (
                <option key={r} value={r} />
              ))}
            </datalist>
          </label>
          <label>
            Target
            <input name="target" defaultValue={filters.target} placeholder="any" />
          </label>
          <label>
            Changed since
            <input name="since" type="datetime-local" defaultValue={isoToLocal(filters.since)} />
          </label>
          <label>
            before
            <input name="until" type="datetime-local" defaultValue={isoToLocal(filters.until)} />
          </label>
          <label class="client">
            Client MRN
            <input name="client" defaultValue={client} placeholder="searched, never put in the URL" autocomplete="off" />
          </label>
          <div class="filter-actions">
            <button type="submit" class="primary">
              Search
            </button>
            <a class="button" href={href('records')} onClick={() => (rememberedClient = '')}>
              Clear
            </a>
          </div>
        </form>
      </Card>

      <Card title={rows ? `${rows.length}${next ? '+' : ''} records` : 'Records'}>
        <MaskedNote masked={masked} />
        <ErrorBox error={error} />
        {!rows && loading && <Loading />}
        {rows && rows.length === 0 && !error && <Empty>No record matches.</Empty>}
        {rows && rows.length > 0 && <RecordTable rows={rows} />}
        {next && (
          <button type="button" class="more" disabled={loading} onClick={() => void load(next)}>
            {loading ? 'Loading…' : 'Load more'}
          </button>
        )}
      </Card>
    </div>
  );
}

export function RecordTable(p: { rows: RecordRow[]; extra?: (r: RecordRow) => preact.ComponentChildren; extraHead?: string }) {
  return (
    <table class="rows" data-testid="record-rows">
      <thead>
        <tr>
          <th>State</th>
          <th>Record</th>
          <th>Target</th>
          <th>Reason</th>
          <th>Attempts</th>
          <th>Client</th>
          <th>Changed</th>
          {p.extra && <th>{p.extraHead ?? ''}</th>}
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <tr key={`${r.kind}/${r.id}/${r.target}`} data-record={`${r.kind}/${r.id}`}>
            <td>
              <StateBadge state={r.state} />
            </td>
            <td>
              <a href={href(`records/${r.kind}/${encodeURIComponent(r.id)}`)}>
                <span class="kind">{r.kind}</span> {r.id}
              </a>
              <span class="muted"> v{r.recordVersion}</span>
            </td>
            <td>{r.target}</td>
            <td class="reason" data-testid="reason">
              {r.reasonCode && <code>{r.reasonCode}</code>} {reasonText(r.reason, r.reasonCode)}
            </td>
            <td>{r.attempts}</td>
            <td>
              <code class="client-ref">{r.client ?? '—'}</code>
            </td>
            <td>
              <Time iso={r.updatedAt} />
            </td>
            {p.extra && <td>{p.extra(r)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** ISO instant -> `<input type="datetime-local">` value in local time. */
function isoToLocal(iso: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
