/**
 * The mapping playground, for integration engineers: paste (or pick) a record and see, as you type,
 * the FHIR resources it maps to and every profile issue (POST /$map: nothing stored or sent); then the
 * remap dry run: what the deployed mappings, or a candidate mapping pasted here, would change in the
 * resources already on the target (POST /$remap).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, v1 } from '../api';
import { Badge, Card, DiffTable, Empty, ErrorBox, JsonView, Loading, MaskedNote, OutcomeView } from '../components/ui';
import { plural } from '../format';
import { href } from '../router';
import { KINDS, type MapResult, type RecordDetail, type RemapReport } from '../types';

const COLLECTION: Record<string, string> = { participant: 'participants', consent: 'consents', session: 'sessions', note: 'notes' };

export function PlaygroundPage() {
  return (
    <div class="page playground">
      <MapPlayground />
      <RemapRun />
    </div>
  );
}

function MapPlayground() {
  const [kind, setKind] = useState('participant');
  const [text, setText] = useState('');
  const [result, setResult] = useState<MapResult | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [parseError, setParseError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [pickError, setPickError] = useState<Error | undefined>();
  const timer = useRef<number | undefined>(undefined);

  // Map as the person types (debounced); nothing is stored or sent.
  useEffect(() => {
    window.clearTimeout(timer.current);
    if (!text.trim()) {
      setResult(undefined);
      setError(undefined);
      setParseError(undefined);
      return;
    }
    timer.current = window.setTimeout(() => {
      try {
        JSON.parse(text);
        setParseError(undefined);
      } catch (e) {
        setParseError((e as Error).message);
        return;
      }
      setBusy(true);
      post<MapResult>(v1('/$map'), text, { query: { kind } })
        .then(
          (r) => {
            setResult(r);
            setError(undefined);
          },
          (e: Error) => {
            setResult(undefined);
            setError(e);
          }
        )
        .finally(() => setBusy(false));
    }, 350);
  }, [text, kind]);

  const loadExample = async (k: string): Promise<void> => {
    const doc = await get<{ paths: Record<string, { put?: { requestBody?: { content?: Record<string, { examples?: Record<string, { value: unknown }> }> } } }> }>(v1('/openapi.json'));
    const example = doc.paths[`/api/v1/${COLLECTION[k]}/{id}`]?.put?.requestBody?.content?.['application/json']?.examples?.[k]?.value;
    setKind(k);
    setText(JSON.stringify(example ?? {}, null, 2));
  };

  const pick = async (e: Event): Promise<void> => {
    e.preventDefault();
    setPickError(undefined);
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const k = String(form.get('kind'));
    const id = String(form.get('id') ?? '').trim();
    try {
      const d = await get<RecordDetail>(v1(`/records/${k}/${encodeURIComponent(id)}`));
      setKind(k);
      setText(JSON.stringify(d.record, null, 2));
    } catch (err) {
      setPickError(err as Error);
    }
  };

  const rejected = error instanceof ApiError && error.outcome ? error.outcome : undefined;
  return (
    <div class="grid two playground-grid">
      <Card title="Record">
        <div class="toolbar">
          <label>
            Kind{' '}
            <select value={kind} onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value)} data-testid="map-kind">
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          <span class="muted">examples:</span>
          {KINDS.map((k) => (
            <button key={k} type="button" class="small" onClick={() => void loadExample(k)}>
              {k}
            </button>
          ))}
        </div>
        <textarea
          class="code"
          spellcheck={false}
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
          placeholder='Paste a record, e.g. {"id": "p-1", "client": {"mrn": "MRN-1001"}, "relationship": "teacher"}'
          data-testid="map-input"
        />
        {parseError && <p class="bad-text">Not JSON yet: {parseError}</p>}
        <form class="filters pick" onSubmit={(e) => void pick(e)}>
          <label>
            Or pick a stored record
            <select name="kind">
              {KINDS.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </label>
          <label>
            id
            <input name="id" required placeholder="s-001" />
          </label>
          <div class="filter-actions">
            <button type="submit">Load</button>
          </div>
        </form>
        <ErrorBox error={pickError} />
      </Card>
      <Card title={<>FHIR output {busy && <span class="muted">(mapping…)</span>}</>}>
        {!result && !error && <Empty>Type or paste a record: its FHIR resources and profile issues appear here at once.</Empty>}
        {rejected && (
          <div data-testid="map-rejected">
            <Badge tone="bad">rejected</Badge> The record does not map:
            <OutcomeView outcome={rejected} />
          </div>
        )}
        {error && !rejected && <ErrorBox error={error} />}
        {result && (
          <div data-testid="map-output">
            <p>
              <Badge tone={result.status === 'valid' ? 'ok' : 'bad'}>{result.status}</Badge> {result.mapping && <code>{result.mapping}</code>}
            </p>
            {result.outcome && <OutcomeView outcome={result.outcome} />}
            {result.resources?.map((r) => (
              <div class="resource" key={r.key}>
                <div class="resource-head">
                  <Badge tone={r.valid ? 'ok' : 'bad'}>{r.valid ? 'valid' : 'invalid'}</Badge> <strong>{r.resourceType}</strong> <code class="muted">{r.key}</code>
                </div>
                {r.profile && <div class="muted">profile {r.profile}</div>}
                <OutcomeView outcome={{ issue: r.issues }} />
                <JsonView value={r.resource} label="Resource" open />
              </div>
            ))}
          </div>
        )}
      </Card>
    </div>
  );
}

function RemapRun() {
  const [report, setReport] = useState<RemapReport | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const run = async (e: Event): Promise<void> => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const kind = String(form.get('kind') ?? '');
    const candidate = String(form.get('candidate') ?? '').trim();
    setError(undefined);
    let mappings: unknown[] | undefined;
    if (candidate) {
      try {
        const parsed: unknown = JSON.parse(candidate);
        mappings = Array.isArray(parsed) ? parsed : [parsed];
      } catch (err) {
        setError(new Error(`The candidate mapping is not JSON: ${(err as Error).message}`));
        return;
      }
    }
    setBusy(true);
    try {
      setReport(await post<RemapReport>(v1('/$remap'), { ...(kind ? { kind } : {}), diff: form.get('diff') === 'on', ...(mappings ? { mappings } : {}) }));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Remap dry run">
      <p class="muted">
        Maps every stored record as the sync would and compares with what the target holds. Paste a changed mapping document (mappings/*.json) to see what deploying it would change. Nothing is queued.
      </p>
      <form class="remap" onSubmit={(e) => void run(e)} data-testid="remap-form">
        <div class="filters">
          <label>
            Kind
            <select name="kind">
              <option value="">all</option>
              {KINDS.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </label>
          <label class="check">
            <input type="checkbox" name="diff" defaultChecked /> diff per resource
          </label>
          <div class="filter-actions">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Running…' : 'Run dry run'}
            </button>
          </div>
        </div>
        <textarea name="candidate" class="code short" spellcheck={false} placeholder="Optional: a candidate mapping document (JSON), replacing the deployed mapping of its kind" />
      </form>
      <ErrorBox error={error} />
      {busy && <Loading what="the remap report" />}
      {report && <RemapReportView r={report} />}
    </Card>
  );
}

function RemapReportView(p: { r: RemapReport }) {
  const { r } = p;
  return (
    <div class="remap-report" data-testid="remap-report">
      <MaskedNote masked={r.masked} />
      <p>
        {r.candidate ? 'With the candidate mapping' : 'With the deployed mappings'} ({r.mappings.join(', ')}) on <strong>{r.target}</strong>: {plural(r.records, 'record')},{' '}
        <strong>{plural(r.resources.changed, 'resource')}</strong> would change, <strong>{plural(r.resources.new, 'resource')}</strong> not on the target yet, {r.resources.unchanged} unchanged;{' '}
        {plural(r.notMapped.length, 'record')} cannot be mapped now, {r.skipped.length} blocked by policy.
      </p>
      {r.changes.length === 0 && <Empty>Nothing on the target would change.</Empty>}
      {r.changes.map((c) => (
        <details class="change" key={`${c.kind}/${c.recordId}/${c.identifier}`}>
          <summary>
            <Badge tone={c.status === 'changed' ? 'warn' : 'info'}>{c.status}</Badge>{' '}
            <a href={href(`records/${c.kind}/${encodeURIComponent(c.recordId)}`)}>
              {c.kind} {c.recordId}
            </a>{' '}
            → {c.resourceType} <span class="muted">({c.before ?? 'never written'} → {c.after})</span>
            {c.issues.length > 0 && <Badge tone="bad">{`${c.issues.length} profile errors`}</Badge>}
          </summary>
          <OutcomeView outcome={{ issue: c.issues }} />
          {c.diffNote && <p class="muted">{c.diffNote}</p>}
          {c.diff && <DiffTable diff={c.diff} labels={['deployed mapping', r.candidate ? 'candidate' : 'now']} />}
        </details>
      ))}
      {r.notMapped.length > 0 && (
        <>
          <h3>Cannot be mapped now</h3>
          <ul class="plain">
            {r.notMapped.map((n) => (
              <li key={`${n.kind}/${n.recordId}`}>
                {n.kind} {n.recordId}: <span class="muted">{n.reason}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
