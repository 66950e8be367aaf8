/**
 * Overview: how the delivery is doing now. Counts by state and target, the queue and its oldest
 * entry, throughput over the last hour, each target's health (429 pauses, token, CapabilityStatement),
 * dead letters and holds by reason. Refreshed every 5 seconds.
 */
import { get, v1 } from '../api';
import { ThroughputBars } from '../components/bars';
import { Badge, Card, Empty, ErrorBox, Loading, Stat, StateBadge, Time } from '../components/ui';
import { count, duration, plural } from '../format';
import { useLoad } from '../hooks';
import { href } from '../router';
import { STATES, type SyncStatus, type TargetInfo, type Throughput } from '../types';

export function OverviewPage() {
  const status = useLoad(() => get<SyncStatus>(v1('/sync/status')), [], 5000);
  const targets = useLoad(() => get<{ targets: TargetInfo[] }>(v1('/sync/targets')), [], 5000);
  const throughput = useLoad(() => get<Throughput>(v1('/sync/throughput'), { query: { minutes: 60, bucket: 300 } }), [], 5000);
  const s = status.data;
  if (!s) return status.error ? <ErrorBox error={status.error} /> : <Loading what="the sync status" />;

  const delivery = Object.entries(s.delivery);
  const queued = delivery.reduce((a, [, d]) => a + d.queued, 0);
  const oldest = Math.max(0, ...delivery.map(([, d]) => d.oldestPendingAgeSeconds ?? 0));
  const held = delivery.reduce((a, [, d]) => a + Object.values(d.heldBy).reduce((x, y) => x + y, 0), 0);
  const heldBy = new Map<string, number>();
  delivery.forEach(([, d]) => Object.entries(d.heldBy).forEach(([r, n]) => heldBy.set(r, (heldBy.get(r) ?? 0) + n)));
  const targetNames = Object.keys(s.targets).sort((a, b) => (a === 'local' ? 1 : b === 'local' ? -1 : a.localeCompare(b)));

  return (
    <div class="page overview">
      <div class="stats">
        <Stat label="queued to send" value={count(queued)} tone={queued > 0 ? 'neutral' : 'ok'} testId="stat-queued" />
        <Stat label="oldest waiting" value={oldest > 0 ? duration(oldest) : '—'} tone={oldest > 900 ? 'bad' : oldest > 120 ? 'warn' : 'ok'} testId="stat-oldest" />
        <Stat
          label="synced in the last hour"
          value={throughput.data ? count(throughput.data.synced) : '…'}
          hint={throughput.data && throughput.data.failed > 0 ? `${count(throughput.data.failed)} failed attempts` : undefined}
          tone="ok"
          testId="stat-synced-hour"
        />
        <Stat label="held" value={count(held)} tone={held > 0 ? 'warn' : 'ok'} href={href('records', { state: 'held' })} testId="stat-held" />
        <Stat label="dead letters" value={count(s.deadLetters)} tone={s.deadLetters > 0 ? 'bad' : 'ok'} href={href('dead-letters')} testId="stat-dead" />
      </div>

      <div class="grid two">
        <Card title="Records by state">
          <table class="matrix">
            <thead>
              <tr>
                <th>State</th>
                {targetNames.map((t) => (
                  <th key={t}>{t === 'local' ? 'kept local (policy)' : t}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {STATES.map((st) => (
                <tr key={st}>
                  <th scope="row">
                    <StateBadge state={st} />
                  </th>
                  {targetNames.map((t) => {
                    const n = s.targets[t]?.[st] ?? 0;
                    return (
                      <td key={t} class={n === 0 ? 'zero' : ''}>
                        {n > 0 ? <a href={href('records', { state: st, target: t })}>{count(n)}</a> : '0'}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
          {targetNames.length === 0 && <Empty>No records yet.</Empty>}
        </Card>

        <Card title="Held, by reason">
          {heldBy.size === 0 ? (
            <Empty>Nothing is held.</Empty>
          ) : (
            <ul class="reasons">
              {[...heldBy].sort((a, b) => b[1] - a[1]).map(([reason, n]) => (
                <li key={reason}>
                  <a href={href('records', { state: 'held', reason })}>
                    <code>{reason}</code>
                  </a>
                  <span class="reason-count">{count(n)}</span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>

      <Card title="Written in the last hour" actions={<span class="legend"><i class="key synced" /> synced <i class="key failed" /> failed</span>}>
        {throughput.data ? <ThroughputBars buckets={throughput.data.buckets} bucketSeconds={throughput.data.bucketSeconds} /> : <Loading />}
      </Card>

      <Card title="Targets">
        <ErrorBox error={targets.error} />
        {targets.data?.targets.map((t) => <TargetHealth key={t.name} t={t} delivery={s.delivery[t.name]} />)}
      </Card>
    </div>
  );
}

function TargetHealth(p: { t: TargetInfo; delivery?: SyncStatus['delivery'][string] }) {
  const { t } = p;
  const h = t.health;
  const tone = !t.capabilities.ok || h.consecutiveFailures > 0 ? 'bad' : h.pausedUntil || h.throttledLastHour > 0 ? 'warn' : 'ok';
  return (
    <div class="target" data-testid={`target-${t.name}`}>
      <div class="target-head">
        <Badge tone={tone}>{tone === 'ok' ? 'healthy' : tone === 'warn' ? 'throttled' : 'trouble'}</Badge>
        <strong>{t.name}</strong>
        <code class="muted">{t.url}</code>
      </div>
      <dl class="facts">
        <dt>CapabilityStatement</dt>
        <dd>
          {t.capabilities.ok ? (
            <>
              read <Time iso={t.capabilities.readAt} />
              {t.capabilities.fhirVersion && <> · FHIR {t.capabilities.fhirVersion}</>}
              {t.capabilities.software && <> · {t.capabilities.software}</>}
            </>
          ) : (
            <span class="bad-text">not read: {t.capabilities.reason}</span>
          )}
        </dd>
        <dt>Last answer</dt>
        <dd>
          {h.lastResponseAt ? (
            <>
              {h.lastStatusClass} <Time iso={h.lastResponseAt} /> · {count(h.requests)} requests since start
            </>
          ) : (
            'no request yet'
          )}
          {h.consecutiveFailures > 0 && <span class="bad-text"> · {h.consecutiveFailures} failures in a row</span>}
        </dd>
        <dt>429 pauses</dt>
        <dd data-testid="throttled">
          {h.throttledLastHour === 0 ? 'none in the last hour' : `${h.throttledLastHour} in the last hour, last `}
          {h.lastThrottledAt && <Time iso={h.lastThrottledAt} />}
          {h.lastRetryAfterSeconds !== undefined && <> (Retry-After {h.lastRetryAfterSeconds} s)</>}
          {h.pausedUntil && (
            <strong class="warn-text">
              {' '}
              · paused until <Time iso={h.pausedUntil} />
            </strong>
          )}
        </dd>
        <dt>Authentication</dt>
        <dd>
          {t.auth}
          {t.token && (
            <>
              {' '}
              · token {t.token.expiresAt ? <>expires <Time iso={t.token.expiresAt} /></> : 'not held'}
              {t.token.missingPermissions.length > 0 && <span class="bad-text"> · missing: {t.token.missingPermissions.join(', ')}</span>}
              {t.token.lastError && <span class="bad-text"> · last error: {t.token.lastError}</span>}
            </>
          )}
        </dd>
        {p.delivery && (
          <>
            <dt>Queue</dt>
            <dd>
              {count(p.delivery.queued)} queued
              {p.delivery.oldestPendingAt && (
                <>
                  , oldest since <Time iso={p.delivery.oldestPendingAt} />
                </>
              )}
              , {plural(p.delivery.deadLetters, 'dead letter')}
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}
