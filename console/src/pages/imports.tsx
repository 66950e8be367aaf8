/**
 * Import jobs: send an NDJSON file (one {"kind","record"} per line) and follow it. Where the service
 * runs imports as jobs (POST /import with Prefer: respond-async answers 202), the job's progress is
 * polled (GET /import/{jobId}) against the file's line count; otherwise the import answers at once
 * with a result per line. Jobs started in this tab are remembered for the tab's life.
 */
import { useEffect, useState } from 'preact/hooks';
import { call, get, v1 } from '../api';
import { Badge, Card, Empty, ErrorBox, OutcomeView } from '../components/ui';
import { when } from '../format';

interface Job {
  id: string;
  state: 'running' | 'completed' | 'failed' | 'cancelled';
  linesRead: number;
  accepted: number;
  unchanged: number;
  rejected: number;
  message?: string;
  startedAt: string;
  updatedAt: string;
}

interface SyncResult {
  lines: number;
  accepted: number;
  unchanged: number;
  rejected: number;
  results: { line: number; kind?: string; id?: string; status: string; outcome?: { issue: [] } }[];
}

interface Started {
  id?: string;
  name: string;
  totalLines: number;
  at: string;
  result?: SyncResult;
}

const KEY = 'collateral-fhir.imports';

function remembered(): Started[] {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? '[]') as Started[];
  } catch {
    return [];
  }
}

export function ImportsPage() {
  const [started, setStarted] = useState<Started[]>(remembered);
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  useEffect(() => sessionStorage.setItem(KEY, JSON.stringify(started.map(({ result: _r, ...s }) => s))), [started]);

  const send = async (e: Event): Promise<void> => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const file = form.get('file') as File | null;
    const pasted = String(form.get('text') ?? '');
    const text = file && file.size > 0 ? await file.text() : pasted;
    if (!text.trim()) return;
    const name = file && file.size > 0 ? file.name : 'pasted lines';
    const totalLines = text.split(/\r?\n/).filter((l) => l.trim()).length;
    setBusy(true);
    setError(undefined);
    try {
      const res = await call<Job | SyncResult>(v1('/import'), {
        method: 'POST',
        body: text,
        contentType: 'application/x-ndjson',
        headers: { Prefer: 'respond-async' },
      });
      const entry: Started =
        res.status === 202 ? { id: (res.body as Job).id, name, totalLines, at: new Date().toISOString() } : { name, totalLines, at: new Date().toISOString(), result: res.body as SyncResult };
      setStarted((prev) => [entry, ...prev]);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="page imports">
      <Card title="New import">
        <form class="import-form" onSubmit={(e) => void send(e)}>
          <label>
            NDJSON file <input type="file" name="file" accept=".ndjson,.jsonl,.json,application/x-ndjson" />
          </label>
          <textarea name="text" class="code short" spellcheck={false} placeholder='or paste lines: {"kind": "participant", "record": {...}}' data-testid="import-text" />
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Sending…' : 'Import'}
          </button>
        </form>
        <ErrorBox error={error} />
      </Card>
      {started.length === 0 && <Empty>No import started in this tab yet.</Empty>}
      {started.map((s) => (s.id ? <JobCard key={s.id} s={s} /> : <SyncCard key={s.at} s={s} />))}
    </div>
  );
}

function JobCard(p: { s: Started }) {
  const [job, setJob] = useState<Job | undefined>();
  const [error, setError] = useState<Error | undefined>();
  useEffect(() => {
    let stop = false;
    const tick = async (): Promise<void> => {
      try {
        const j = await get<Job>(v1(`/import/${encodeURIComponent(p.s.id as string)}`));
        if (stop) return;
        setJob(j);
        if (j.state !== 'running') return;
      } catch (e) {
        setError(e as Error);
        return;
      }
      setTimeout(() => void tick(), 1000);
    };
    void tick();
    return () => {
      stop = true;
    };
  }, [p.s.id]);
  const read = job?.linesRead ?? 0;
  return (
    <Card title={<>Import {p.s.name}</>} actions={job && <Badge tone={job.state === 'completed' ? 'ok' : job.state === 'running' ? 'info' : 'bad'}>{job.state}</Badge>}>
      <ErrorBox error={error} />
      <progress max={Math.max(1, p.s.totalLines)} value={Math.min(read, p.s.totalLines)} data-testid="import-progress" />
      <p>
        {read} of about {p.s.totalLines} lines read · {job?.accepted ?? 0} accepted · {job?.unchanged ?? 0} unchanged · {job?.rejected ?? 0} rejected
      </p>
      <p class="muted">
        job <code>{p.s.id}</code> · started {when(p.s.at)}
        {job?.message && <> · {job.message}</>}
      </p>
    </Card>
  );
}

function SyncCard(p: { s: Started }) {
  const r = p.s.result;
  if (!r) {
    return (
      <Card title={<>Import {p.s.name}</>}>
        <p class="muted">Imported {when(p.s.at)} (the per-line results are not kept after a reload).</p>
      </Card>
    );
  }
  const rejected = r.results.filter((x) => x.status === 'rejected');
  return (
    <Card title={<>Import {p.s.name}</>} actions={<Badge tone={r.rejected > 0 ? 'warn' : 'ok'}>done</Badge>}>
      <progress max={Math.max(1, r.lines)} value={r.lines} />
      <p data-testid="import-summary">
        {r.lines} lines · {r.accepted} accepted · {r.unchanged} unchanged · {r.rejected} rejected
      </p>
      {rejected.length > 0 && (
        <table class="rows">
          <thead>
            <tr>
              <th>Line</th>
              <th>Why it was rejected</th>
            </tr>
          </thead>
          <tbody>
            {rejected.map((x) => (
              <tr key={x.line}>
                <td>{x.line}</td>
                <td>
                  <OutcomeView outcome={x.outcome} compact />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
