/**
 * One record in full: its state on each target (with the target's OperationOutcome), the consent
 * decision and its reasons, the source record, the FHIR resources as mapped now (with profile issues)
 * and as last sent (with a diff to the version before), and every write attempt. Retry or replay from
 * here, and watch the outcome.
 */
import { useState } from 'preact/hooks';
import { get, post, v1 } from '../api';
import { Badge, Card, DiffTable, Empty, ErrorBox, JsonView, Loading, MaskedNote, OutcomeView, StateBadge, Tabs, Time } from '../components/ui';
import { WatchOutcome, type Watched } from '../components/watch';
import { plural, reasonText, when } from '../format';
import { useLoad } from '../hooks';
import { href, navigate, type Route } from '../router';
import type { RecordDetail } from '../types';

type Tab = 'source' | 'mapped' | 'sent' | 'attempts';

export function RecordPage(p: { route: Route }) {
  const [, kind, id] = p.route.parts;
  const tab = (p.route.query.get('tab') as Tab) || 'source';
  const detail = useLoad(() => get<RecordDetail>(v1(`/records/${kind}/${encodeURIComponent(id)}`)), [kind, id]);
  const [watch, setWatch] = useState<Watched | undefined>();
  const [actionError, setActionError] = useState<Error | undefined>();
  const d = detail.data;
  if (!d) return detail.error ? <ErrorBox error={detail.error} /> : <Loading what={`${kind} ${id}`} />;

  const act = async (what: 'retry' | 'replay', target: string): Promise<void> => {
    setActionError(undefined);
    const since = new Date().toISOString();
    try {
      if (what === 'replay') {
        await post(v1(`/sync/dead-letters/${kind}/${encodeURIComponent(id)}/replay`), undefined, { query: { target } });
      } else {
        await post(v1('/sync/retry'), { kind, id, target });
      }
      setWatch({ kind, id, since });
    } catch (e) {
      setActionError(e as Error);
    }
  };

  return (
    <div class="page record">
      <div class="page-head">
        <h1>
          <span class="kind">{d.kind}</span> {d.id} <span class="muted">version {d.version}</span>
        </h1>
        <div class="muted">
          client <code class="client-ref">{d.client ?? '—'}</code> · first received {when(d.receivedAt)} · this version {when(d.updatedAt)}
        </div>
        <MaskedNote masked={d.masked} />
      </div>

      <div class="grid two">
        <Card title="Sync state">
          {d.sync.map((s) => (
            <div class="sync-state" key={s.target} data-testid={`sync-${s.target}`}>
              <div class="sync-head">
                <StateBadge state={s.state} /> <strong>{s.target}</strong>
                <span class="muted">
                  {' '}
                  · {plural(s.attempts, 'attempt')} · changed <Time iso={s.updatedAt} />
                  {s.nextAttemptAt && (
                    <>
                      {' '}
                      · next try <Time iso={s.nextAttemptAt} />
                    </>
                  )}
                </span>
              </div>
              {s.reason && (
                <p class="reason" data-testid="state-reason">
                  {s.reasonCode && <code>{s.reasonCode}</code>} {reasonText(s.reason, s.reasonCode)}
                </p>
              )}
              {s.outcome && (
                <div class="target-outcome">
                  <div class="muted">The target's OperationOutcome</div>
                  <OutcomeView outcome={s.outcome} />
                </div>
              )}
              {s.resources && s.resources.length > 0 && (
                <ul class="resources">
                  {s.resources.map((r) => (
                    <li key={`${r.resourceType}/${r.id}`}>
                      <code>
                        {r.resourceType}/{r.id}/_history/{r.versionId}
                      </code>{' '}
                      <span class="muted">{r.mapping}</span>
                    </li>
                  ))}
                </ul>
              )}
              {s.target !== 'local' && (
                <div class="row-actions">
                  {s.state === 'dead-letter' && (
                    <button type="button" class="primary" onClick={() => void act('replay', s.target)}>
                      Replay
                    </button>
                  )}
                  {(s.state === 'held' || s.state === 'failed') && (
                    <button type="button" onClick={() => void act('retry', s.target)}>
                      Retry now
                    </button>
                  )}
                </div>
              )}
            </div>
          ))}
          <ErrorBox error={actionError} />
          {watch && (
            <div class="watch-box">
              Outcome: <WatchOutcome {...watch} onSettled={() => detail.reload()} />
            </div>
          )}
        </Card>

        <Card title="Consent decision (if sent now)">
          {d.consent.length === 0 && <Empty>{d.mapped.reason ?? 'Not decided: the record is not queued for a target.'}</Empty>}
          {d.consent.map((c) => (
            <div key={c.target} class="consent" data-testid="consent-decision">
              <div>
                {c.effect ? <Badge tone={c.effect === 'permit' ? 'ok' : c.effect === 'hold' ? 'warn' : 'bad'}>{c.effect}</Badge> : <Badge tone="neutral">waiting</Badge>}{' '}
                to <strong>{c.target}</strong>
                {c.purposeOfUse && <span class="muted"> · purpose {c.purposeOfUse}</span>}
              </div>
              {c.waiting && <p>{c.waiting}</p>}
              {c.reasons.length > 0 && (
                <ul class="plain">
                  {c.reasons.map((r) => (
                    <li key={r}>{r}</li>
                  ))}
                </ul>
              )}
              {c.consentIds && c.consentIds.length > 0 && (
                <p class="muted">
                  relies on{' '}
                  {c.consentIds.map((cid) => (
                    <a key={cid} href={href(`records/consent/${encodeURIComponent(cid)}`)}>
                      consent {cid}{' '}
                    </a>
                  ))}
                </p>
              )}
            </div>
          ))}
        </Card>
      </div>

      <Card>
        <Tabs<Tab>
          tabs={[
            { id: 'source', label: 'Source record' },
            { id: 'mapped', label: `FHIR as mapped${d.mapped.resources ? ` (${d.mapped.resources.length})` : ''}` },
            { id: 'sent', label: `As sent (${d.sent.length})` },
            { id: 'attempts', label: `Attempts (${d.attempts.length})` },
          ]}
          active={tab}
          onSelect={(t) => navigate(`records/${kind}/${encodeURIComponent(id)}`, { tab: t })}
        />
        {tab === 'source' && <JsonView value={d.record} />}
        {tab === 'mapped' && <Mapped d={d} />}
        {tab === 'sent' && <Sent d={d} />}
        {tab === 'attempts' && <Attempts d={d} />}
      </Card>
    </div>
  );
}

function Mapped(p: { d: RecordDetail }) {
  const m = p.d.mapped;
  if (m.status !== 'mapped' || !m.resources) return <Empty>Not mapped: {m.reason}</Empty>;
  return (
    <div class="mapped">
      <p class="muted">
        Mapped now with <code>{m.mapping}</code>, exactly as the sync would (references to the Patient and Practitioner are resolved when sending).
      </p>
      {m.resources.map((r) => (
        <div class="resource" key={r.key}>
          <div class="resource-head">
            <Badge tone={r.valid ? 'ok' : 'bad'}>{r.valid ? 'valid' : 'invalid'}</Badge> <strong>{r.resourceType}</strong> <code class="muted">{r.key}</code>
            <span class="muted"> · {r.write}</span>
          </div>
          {r.profile && <div class="muted">profile {r.profile}</div>}
          <OutcomeView outcome={{ issue: r.issues }} />
          <JsonView value={r.resource} label="Resource" />
        </div>
      ))}
    </div>
  );
}

function Sent(p: { d: RecordDetail }) {
  if (p.d.sent.length === 0) return <Empty>Nothing of this record is on a target yet.</Empty>;
  return (
    <div class="sent">
      {p.d.sent.map((s) => (
        <div class="resource" key={`${s.target}/${s.resourceType}/${s.id}`} data-testid="sent-resource">
          <div class="resource-head">
            <strong>
              {s.resourceType}/{s.id}
            </strong>{' '}
            <span class="muted">
              version {s.versionId} on {s.target} · synced <Time iso={s.syncedAt} /> · {s.mapping}
            </span>
          </div>
          {s.unreadable && <p class="bad-text">Could not read it back: {s.unreadable}</p>}
          {s.previous && s.diff && (
            <>
              <h3>
                Changes from version {s.previous.versionId} to {String((s.current?.meta as { versionId?: string } | undefined)?.versionId ?? s.versionId)}
              </h3>
              <DiffTable diff={s.diff} labels={[`version ${s.previous.versionId}`, 'current']} />
            </>
          )}
          {!s.previous && s.current && <p class="muted">Only one version on the target.</p>}
          {s.current && <JsonView value={s.current} label="As the target holds it" />}
        </div>
      ))}
    </div>
  );
}

function Attempts(p: { d: RecordDetail }) {
  if (p.d.attempts.length === 0) return <Empty>No write attempt yet (held records are not attempted).</Empty>;
  return (
    <table class="rows">
      <thead>
        <tr>
          <th>When</th>
          <th>Outcome</th>
          <th>Target</th>
          <th>How</th>
          <th>Resources</th>
          <th>The target's answer</th>
        </tr>
      </thead>
      <tbody>
        {p.d.attempts.map((a) => (
          <tr key={a.auditEventId}>
            <td>{when(a.at)}</td>
            <td>
              <Badge tone={a.outcome === 'success' ? 'ok' : 'bad'}>{a.outcome}</Badge>
            </td>
            <td>{a.target}</td>
            <td>{a.interaction}</td>
            <td>
              {a.resources.map((r) => (
                <code key={r} class="block">
                  {r}
                </code>
              ))}
            </td>
            <td>{a.failure ?? (a.consentIds.length > 0 ? `under consent ${a.consentIds.join(', ')}` : a.purposeOfUse)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
