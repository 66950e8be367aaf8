/**
 * Import jobs: send an NDJSON file (one {"kind","record"} per line) as a job (POST /import with
 * Prefer: respond-async answers 202 at once), and the latest jobs (GET /import) with their state and
 * committed counts, refreshed while one runs. The rejected lines of a job and why come from its
 * results (GET /import/{jobId}/results, NDJSON), read up to a bound so a huge job cannot stall the page.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, get, v1 } from '../api';
import { Badge, Card, Empty, ErrorBox, OutcomeView } from '../components/ui';
import { count, when } from '../format';
import { allowed, type Me, storedToken } from '../session';

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
  finishedAt?: string;
}

interface LineResult {
  line: number;
  status: 'accepted' | 'unchanged' | 'rejected';
  kind?: string;
  id?: string;
  outcome?: { issue?: [] };
}

/** Lines counted in the files sent from this tab, by job id: the progress bar's end where known. */
const KEY = 'collateral-fhir.import-sizes';
/** The most of a job's results the page reads to list its rejected lines. */
const RESULTS_BYTES = 2 * 1024 * 1024;

function sizes(): Record<string, number> {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? '{}') as Record<string, number>;
  } catch {
    return {};
  }
}

/**
 * Starts a job. Only the answer's head is awaited: its body ends when the job does, and a browser may
 * stop uploading once a response has been read to its end.
 */
async function startJob(text: string): Promise<string> {
  const res = await fetch(v1('/import'), {
    method: 'POST',
    headers: { authorization: `Bearer ${storedToken() ?? ''}`, 'content-type': 'application/x-ndjson', prefer: 'respond-async', accept: 'application/json' },
    body: text,
  });
  const id = /\/import\/([^/]+)$/.exec(res.headers.get('content-location') ?? '')?.[1];
  if (res.status !== 202 || !id) {
    const body = (await res.json().catch(() => undefined)) as { resourceType?: string } | undefined;
    throw new ApiError(res.status, body?.resourceType === 'OperationOutcome' ? (body as never) : undefined);
  }
  return decodeURIComponent(id);
}

export function ImportsPage(p: { me: Me }) {
  // Cancelling a job and reading its per-line results are for the source that imports (issue #10's route table); an operator follows progress.
  const manages = allowed(p.me, ['source']);
  const [jobs, setJobs] = useState<Job[] | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async (): Promise<void> => {
      try {
        const list = (await get<{ jobs: Job[] }>(v1('/import'), { query: { limit: 20 } })).jobs;
        if (stop) return;
        setJobs(list);
        if (list.some((j) => j.state === 'running')) timer = setTimeout(() => void load(), 1000);
      } catch (e) {
        if (!stop) setError(e as Error);
      }
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [tick]);

  const send = async (e: Event): Promise<void> => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const file = form.get('file') as File | null;
    const pasted = String(form.get('text') ?? '');
    const text = file && file.size > 0 ? await file.text() : pasted;
    if (!text.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      const id = await startJob(text);
      sessionStorage.setItem(KEY, JSON.stringify({ ...sizes(), [id]: text.split(/\r?\n/).filter((l) => l.trim()).length }));
      setTick((t) => t + 1);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="page imports">
      {manages && (
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
      )}
      <Card title="Latest import jobs">
        {!manages && <ErrorBox error={error} />}
        {jobs && jobs.length === 0 && <Empty>No import job yet.</Empty>}
        {jobs?.map((j) => <JobRow key={j.id} job={j} total={sizes()[j.id]} manages={manages} />)}
      </Card>
    </div>
  );
}

function tone(state: Job['state']): 'ok' | 'info' | 'bad' | 'warn' {
  return state === 'completed' ? 'ok' : state === 'running' ? 'info' : state === 'cancelled' ? 'warn' : 'bad';
}

function JobRow(p: { job: Job; total?: number; manages: boolean }) {
  const { job } = p;
  const [rejected, setRejected] = useState<{ lines: LineResult[]; partial: boolean } | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const cancel = async (): Promise<void> => {
    try {
      await call(v1(`/import/${encodeURIComponent(job.id)}`), { method: 'DELETE' });
    } catch (e) {
      setError(e as Error);
    }
  };
  const showRejected = async (): Promise<void> => {
    try {
      setRejected(await rejectedLines(job.id));
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <div class="import-job" data-testid="import-job" data-state={job.state}>
      <div class="import-job-head">
        <Badge tone={tone(job.state)}>{job.state}</Badge> <code>{job.id.slice(0, 8)}</code> <span class="muted">started {when(job.startedAt)}</span>
        {p.manages && job.state === 'running' && (
          <button type="button" onClick={() => void cancel()}>
            Cancel
          </button>
        )}
        {p.manages && job.rejected > 0 && !rejected && (
          <button type="button" onClick={() => void showRejected()}>
            Rejected lines
          </button>
        )}
      </div>
      {p.total ? <progress max={Math.max(1, p.total)} value={Math.min(job.linesRead, p.total)} /> : job.state === 'running' ? <progress /> : null}
      <p data-testid="import-counts">
        {count(job.linesRead)} lines read · {count(job.accepted)} accepted · {count(job.unchanged)} unchanged · {count(job.rejected)} rejected
        {p.total ? <span class="muted"> (the file has {count(p.total)})</span> : null}
      </p>
      {job.message && <p class="muted">{job.message}</p>}
      <ErrorBox error={error} />
      {rejected && (
        <table class="rows" data-testid="import-rejected">
          <thead>
            <tr>
              <th>Line</th>
              <th>Why it was rejected</th>
            </tr>
          </thead>
          <tbody>
            {rejected.lines.map((x) => (
              <tr key={x.line}>
                <td>{x.line}</td>
                <td>
                  <OutcomeView outcome={x.outcome} compact />
                </td>
              </tr>
            ))}
          </tbody>
          {rejected.partial && <caption class="muted">The first rejected lines only (the results are long).</caption>}
        </table>
      )}
    </div>
  );
}

/** The rejected lines of a job's results, reading at most RESULTS_BYTES of them. */
async function rejectedLines(id: string): Promise<{ lines: LineResult[]; partial: boolean }> {
  const res = await fetch(v1(`/import/${encodeURIComponent(id)}/results`), { headers: { authorization: `Bearer ${storedToken() ?? ''}` } });
  if (!res.ok || !res.body) throw new ApiError(res.status);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let partial = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (text.length > RESULTS_BYTES) {
      partial = true;
      await reader.cancel();
      text = text.slice(0, text.lastIndexOf('\n') + 1);
      break;
    }
  }
  const lines = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as LineResult)
    .filter((r) => r.status === 'rejected');
  return { lines, partial };
}
