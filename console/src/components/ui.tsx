/** Building blocks shared by the pages: cards, badges, errors, tables of JSON, tabs. No inline styles (CSP). */
import type { ComponentChildren } from 'preact';
import { ApiError, type Issue, type OperationOutcome } from '../api';
import { ago, when } from '../format';

export function Card(p: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`card ${p.class ?? ''}`} id={p.id}>
      {(p.title || p.actions) && (
        <header class="card-head">
          {p.title && <h2>{p.title}</h2>}
          {p.actions && <div class="card-actions">{p.actions}</div>}
        </header>
      )}
      <div class="card-body">{p.children}</div>
    </section>
  );
}

export function Stat(p: { label: string; value: ComponentChildren; hint?: ComponentChildren; tone?: 'ok' | 'warn' | 'bad' | 'neutral'; href?: string; testId?: string }) {
  const body = (
    <>
      <div class="stat-value" data-testid={p.testId}>
        {p.value}
      </div>
      <div class="stat-label">{p.label}</div>
      {p.hint && <div class="stat-hint">{p.hint}</div>}
    </>
  );
  return p.href ? (
    <a class={`stat tone-${p.tone ?? 'neutral'}`} href={p.href}>
      {body}
    </a>
  ) : (
    <div class={`stat tone-${p.tone ?? 'neutral'}`}>{body}</div>
  );
}

/** A sync state as a coloured badge. */
export function StateBadge(p: { state: string }) {
  return <span class={`badge state-${p.state}`}>{p.state}</span>;
}

export function Badge(p: { tone: 'ok' | 'warn' | 'bad' | 'neutral' | 'info'; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge tone-${p.tone}`} title={p.title}>
      {p.children}
    </span>
  );
}

export function Loading(p: { what?: string }) {
  return <div class="loading">Loading{p.what ? ` ${p.what}` : ''}…</div>;
}

export function Empty(p: { children: ComponentChildren }) {
  return <div class="empty">{p.children}</div>;
}

/** An OperationOutcome's issues as a list: where (JSON path or FHIRPath) and what. */
export function OutcomeView(p: { outcome?: OperationOutcome | { issue?: Issue[] }; compact?: boolean }) {
  const issues = p.outcome?.issue ?? [];
  if (issues.length === 0) return null;
  return (
    <ul class={`issues ${p.compact ? 'compact' : ''}`}>
      {issues.map((i, n) => (
        <li key={n} class={`issue sev-${i.severity ?? 'error'}`}>
          <span class="issue-sev">{i.severity ?? 'error'}</span>
          {i.expression?.[0] && <code class="issue-path">{i.expression[0]}</code>}
          <span class="issue-text">{i.details?.text ?? i.diagnostics ?? i.code}</span>
        </li>
      ))}
    </ul>
  );
}

/** An error from the API: the OperationOutcome's issues, or the message. */
export function ErrorBox(p: { error?: Error; title?: string }) {
  if (!p.error) return null;
  const e = p.error;
  const status = e instanceof ApiError ? e.status : undefined;
  return (
    <div class="error-box" role="alert">
      <strong>{p.title ?? (status === 403 ? 'Not allowed for your role' : status ? `The service answered ${status}` : 'Something went wrong')}</strong>
      {e instanceof ApiError && e.outcome ? <OutcomeView outcome={e.outcome} compact /> : <p>{e.message}</p>}
    </div>
  );
}

export function JsonView(p: { value: unknown; label?: string; open?: boolean }) {
  const text = JSON.stringify(p.value, null, 2);
  if (p.label === undefined) {
    return <pre class="json">{text}</pre>;
  }
  return (
    <details class="json-details" open={p.open}>
      <summary>{p.label}</summary>
      <pre class="json">{text}</pre>
    </details>
  );
}

export interface Difference {
  path: string;
  before?: unknown;
  after?: unknown;
}

/** A JSON diff, one row per changed leaf. */
export function DiffTable(p: { diff: Difference[]; labels?: [string, string] }) {
  if (p.diff.length === 0) return <Empty>No difference.</Empty>;
  const show = (v: unknown): string => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
  return (
    <table class="diff">
      <thead>
        <tr>
          <th>Path</th>
          <th>{p.labels?.[0] ?? 'Before'}</th>
          <th>{p.labels?.[1] ?? 'After'}</th>
        </tr>
      </thead>
      <tbody>
        {p.diff.map((d) => (
          <tr key={d.path}>
            <td>
              <code>{d.path}</code>
            </td>
            <td class={d.before === undefined ? 'absent' : 'removed'}>{show(d.before)}</td>
            <td class={d.after === undefined ? 'absent' : 'added'}>{show(d.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Tabs<T extends string>(p: { tabs: { id: T; label: ComponentChildren }[]; active: T; onSelect: (id: T) => void }) {
  return (
    <div class="tabs" role="tablist">
      {p.tabs.map((t) => (
        <button key={t.id} type="button" role="tab" aria-selected={t.id === p.active} class={t.id === p.active ? 'tab active' : 'tab'} onClick={() => p.onSelect(t.id)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** A time shown relative ("3 min ago") with the exact time on hover. */
export function Time(p: { iso?: string }) {
  return <time title={when(p.iso)}>{ago(p.iso)}</time>;
}

/** Shown on answers the server masked for this credential's roles. */
export function MaskedNote(p: { masked?: boolean }) {
  return p.masked ? (
    <div class="masked-note" data-testid="masked-note">
      PHI is masked for your role: names, contact details, note text and MRNs are replaced (•••); clients appear as pseudonyms.
    </div>
  ) : null;
}
