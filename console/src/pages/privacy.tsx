/**
 * For the privacy officer: the accounting of disclosures of one client (every write of their data to
 * a target, when, what, under which consent or legal exception) and the access audit (who read or
 * changed PHI). The MRN is sent in a header, never in a URL.
 */
import { useState } from 'preact/hooks';
import { ApiError, get, v1 } from '../api';
import { Badge, Card, Empty, ErrorBox, JsonView, Loading, Tabs } from '../components/ui';
import { when } from '../format';
import { href, navigate, type Route } from '../router';

interface Disclosure {
  channel?: 'sync' | 'identified-analytics';
  when: string;
  /** Absent for identified analytics reads (no source record is written anywhere). */
  record?: { kind: string; id: string; version?: number };
  resources: { resourceType: string; id: string; versionId?: string }[];
  target: { name?: string; url?: string };
  basis: 'consent' | 'exception' | 'not-required' | 'privileged-role';
  purposeOfUse?: string;
  analytics?: { what: string; jobId?: string };
  consentIds: string[];
  exceptionReason?: string;
  auditEventId: string;
}

type Tab = 'disclosures' | 'access';

export function PrivacyPage(p: { route: Route }) {
  const tab = (p.route.query.get('tab') as Tab) || 'disclosures';
  return (
    <div class="page privacy">
      <Tabs<Tab>
        tabs={[
          { id: 'disclosures', label: 'Accounting of disclosures' },
          { id: 'access', label: 'Access audit' },
        ]}
        active={tab}
        onSelect={(t) => navigate('privacy', { tab: t })}
      />
      {tab === 'disclosures' ? <Disclosures /> : <AccessAudit />}
    </div>
  );
}

function Disclosures() {
  const [result, setResult] = useState<{ mrn: string; items: Disclosure[] } | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [loading, setLoading] = useState(false);
  const search = async (e: Event): Promise<void> => {
    e.preventDefault();
    const mrn = String(new FormData(e.currentTarget as HTMLFormElement).get('mrn') ?? '').trim();
    if (!mrn) return;
    setLoading(true);
    setError(undefined);
    try {
      const res = await get<{ client: { mrn: string }; disclosures: Disclosure[] }>(v1('/disclosures'), { headers: { 'X-Client-MRN': mrn } });
      setResult({ mrn: res.client.mrn, items: res.disclosures });
    } catch (err) {
      setError(err as Error);
      setResult(undefined);
    } finally {
      setLoading(false);
    }
  };
  return (
    <>
      <Card title="Client">
        <form class="filters" onSubmit={(e) => void search(e)}>
          <label>
            MRN
            <input name="mrn" autocomplete="off" placeholder="MRN-1001" required />
          </label>
          <div class="filter-actions">
            <button type="submit" class="primary">
              Show disclosures
            </button>
          </div>
        </form>
        <p class="muted">45 CFR 164.528: every disclosure of the client's data to a target, with the consent (or the exception under law) it relied on.</p>
      </Card>
      <ErrorBox error={error} />
      {loading && <Loading />}
      {result && (
        <Card title={`${result.items.length} disclosures of ${result.mrn}`}>
          {result.items.length === 0 ? (
            <Empty>No disclosure of this client's data.</Empty>
          ) : (
            <table class="rows" data-testid="disclosures">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Record</th>
                  <th>Resources written</th>
                  <th>Target</th>
                  <th>Basis</th>
                </tr>
              </thead>
              <tbody>
                {result.items.map((d) => (
                  <tr key={d.auditEventId}>
                    <td>{when(d.when)}</td>
                    <td>
                      {d.record ? (
                        <>
                          <a href={href(`records/${d.record.kind}/${encodeURIComponent(d.record.id)}`)}>
                            <span class="kind">{d.record.kind}</span> {d.record.id}
                          </a>
                          {d.record.version && <span class="muted"> v{d.record.version}</span>}
                        </>
                      ) : (
                        <span>{d.analytics?.what}</span>
                      )}
                    </td>
                    <td>
                      {d.resources.map((r) => (
                        <code class="block" key={`${r.resourceType}/${r.id}`}>
                          {r.resourceType}/{r.id}
                          {r.versionId ? `/_history/${r.versionId}` : ''}
                        </code>
                      ))}
                    </td>
                    <td title={d.target.url}>{d.target.name}</td>
                    <td>
                      <Badge tone={d.basis === 'exception' ? 'warn' : 'info'}>{d.basis}</Badge> {d.purposeOfUse}
                      {d.consentIds.length > 0 && <div class="muted">consent {d.consentIds.join(', ')}</div>}
                      {d.exceptionReason && <div class="muted">{d.exceptionReason}</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      )}
    </>
  );
}

interface AccessEvent {
  recorded?: string;
  action?: string;
  outcome?: string;
  agent?: { who?: { display?: string; identifier?: { value?: string } }; requestor?: boolean }[];
  entity?: { what?: { reference?: string; display?: string; identifier?: { value?: string } } }[];
  subtype?: { code?: string }[];
}

function AccessAudit() {
  const [events, setEvents] = useState<AccessEvent[] | undefined>();
  const [raw, setRaw] = useState<unknown>();
  const [error, setError] = useState<Error | undefined>();
  const [missing, setMissing] = useState(false);
  const search = async (e: Event): Promise<void> => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const q = (k: string): string | undefined => String(form.get(k) ?? '').trim() || undefined;
    setError(undefined);
    setMissing(false);
    try {
      const body = await get<{ entry?: { resource?: AccessEvent }[]; events?: AccessEvent[] }>(v1('/audit/access'), {
        query: { since: toIso(q('since')), until: toIso(q('until')), user: q('user') },
      });
      setRaw(body);
      setEvents(body.entry ? body.entry.map((x) => x.resource ?? {}) : (body.events ?? []));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setMissing(true);
      else setError(err as Error);
    }
  };
  return (
    <>
      <Card title="Who read or changed PHI">
        <form class="filters" onSubmit={(e) => void search(e)}>
          <label>
            Since
            <input name="since" type="datetime-local" />
          </label>
          <label>
            Until
            <input name="until" type="datetime-local" />
          </label>
          <label>
            Credential
            <input name="user" placeholder="any" />
          </label>
          <div class="filter-actions">
            <button type="submit" class="primary">
              Search
            </button>
          </div>
        </form>
      </Card>
      <ErrorBox error={error} />
      {missing && <Empty>This service has no access audit yet (it arrives with named credentials and roles).</Empty>}
      {events && (
        <Card title={`${events.length} access events`}>
          {events.length === 0 ? (
            <Empty>No access in this period.</Empty>
          ) : (
            <table class="rows">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Who</th>
                  <th>What</th>
                  <th>Action</th>
                  <th>Outcome</th>
                </tr>
              </thead>
              <tbody>
                {events.map((ev, i) => (
                  <tr key={i}>
                    <td>{when(ev.recorded)}</td>
                    <td>{ev.agent?.find((a) => a.requestor)?.who?.display ?? ev.agent?.[0]?.who?.identifier?.value}</td>
                    <td>
                      {(ev.entity ?? []).map((x, n) => (
                        <code class="block" key={n}>
                          {x.what?.reference ?? x.what?.identifier?.value ?? x.what?.display}
                        </code>
                      ))}
                    </td>
                    <td>{ev.subtype?.[0]?.code ?? ev.action}</td>
                    <td>{ev.outcome === '0' ? 'success' : ev.outcome}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <JsonView value={raw} label="As the API answered" />
        </Card>
      )}
    </>
  );
}

function toIso(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
