/**
 * `collateral-fhir import <file.ndjson>`: sends an NDJSON file to a running service as an import job
 * (POST /api/v1/import with `Prefer: respond-async`), streamed from disk (never read into memory),
 * shows a progress bar on stderr when it is a terminal, then prints a summary and the rejected lines
 * with their problems. Ctrl-C cancels the job (what it committed stays).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import { resolveServiceConnection, type ServiceConnection } from './cli-config.js';
import { progressLine } from './import-progress.js';

export const IMPORT_USAGE = `  import FILE.ndjson                 send an NDJSON file as an import job: progress on stderr, then a summary
          --url URL --token TOKEN     the service (default: as npm start is configured, PORT, HOST, DATA_DIR,
          --data-dir DIR              API_TOKENS; the token from $API_TOKEN or DATA_DIR/api-token)
          --json                      print the job's final status as JSON
          --max-rejected N            rejected lines to print with their problems (default 20)`;

/** Where the command writes; `progress` is the terminal's stderr when it is one (the bar redraws in place). */
export interface ImportIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  progress?: { write(text: string): void; columns?: number };
}

interface Job {
  id: string;
  state: 'running' | 'completed' | 'failed' | 'cancelled';
  linesRead: number;
  accepted: number;
  unchanged: number;
  rejected: number;
  message?: string;
}

/**
 * Runs `import …`.
 * @returns the exit code: 0 when the job completed with no line rejected, 1 when lines were rejected
 *   or the job did not complete, 2 for a usage problem.
 */
export async function importCommand(argv: string[], io: ImportIo, options: { pollMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
      'max-rejected': { type: 'string' },
    },
  });
  const file = positionals[0];
  if (!file || !existsSync(file) || !statSync(file).isFile()) {
    io.err(file ? `No such file: ${file}` : `Usage:\n${IMPORT_USAGE}`);
    return 2;
  }
  let conn: ServiceConnection;
  try {
    conn = resolveServiceConnection(io.env, { url: values.url, token: values.token, dataDir: values['data-dir'] });
  } catch (err) {
    io.err((err as Error).message);
    return 2;
  }
  const token = conn.token;
  if (!token) {
    io.err(`No API token for the service at ${conn.url} (URL from ${conn.urlSource}): ${conn.tokenSource}.`);
    return 2;
  }
  const base = conn.url;
  const maxRejected = Number(values['max-rejected'] ?? 20);
  const get = async (path: string): Promise<Response> => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });

  const upload = startUpload(base, token, file);
  let jobPath: string;
  try {
    jobPath = await upload.accepted;
  } catch (err) {
    io.err(`The import was not accepted by ${base} (from ${conn.urlSource}; token from ${conn.tokenSource}): ${(err as Error).message}`);
    return 1;
  }
  const cancel = (): void => {
    void fetch(`${base}${jobPath}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
  };
  options.signal?.addEventListener('abort', cancel);

  const started = Date.now();
  let job: Job;
  let last = { at: started, lines: 0 };
  for (;;) {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    job = (await (await get(jobPath)).json()) as Job;
    if (io.progress) {
      const now = Date.now();
      const linesPerSecond = ((job.linesRead - last.lines) * 1000) / Math.max(1, now - last.at);
      last = { at: now, lines: job.linesRead };
      const p = { bytesSent: upload.bytesSent(), totalBytes: upload.totalBytes, linesRead: job.linesRead, rejected: job.rejected, linesPerSecond, elapsedSeconds: (now - started) / 1000 };
      io.progress.write(`\r${progressLine(p, io.progress.columns || 80)}`);
    }
    if (job.state !== 'running') {
      break;
    }
  }
  io.progress?.write('\n');
  options.signal?.removeEventListener('abort', cancel);

  if (values.json) {
    io.out(JSON.stringify(job, null, 2));
  } else {
    const seconds = (Date.now() - started) / 1000;
    io.out(
      `${file}: ${job.state}, ${job.linesRead} lines read in ${seconds.toFixed(1)} s: ${job.accepted} accepted, ${job.unchanged} unchanged, ${job.rejected} rejected` +
        (job.message ? `\n${job.message}` : '')
    );
    if (job.rejected > 0) {
      await printRejected(await get(`${jobPath}/results`), io, maxRejected, job.rejected);
      io.out(`All results (NDJSON, one per line): GET ${base}${jobPath}/results`);
    }
  }
  return job.state === 'completed' && job.rejected === 0 ? 0 : 1;
}

/** Prints the first rejected lines of the results stream with their problems. */
async function printRejected(res: Response, io: ImportIo, max: number, total: number): Promise<void> {
  let shown = 0;
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const r = line ? (JSON.parse(line) as { line: number; status: string; outcome?: { issue?: { details?: { text?: string }; expression?: string[] }[] } }) : undefined;
      if (r?.status !== 'rejected') {
        continue;
      }
      const problems = (r.outcome?.issue ?? []).map((i) => `${i.expression?.[0] ? `${i.expression[0]}: ` : ''}${(i.details?.text ?? '').replace(/^line \d+: /, '')}`);
      io.out(`  line ${r.line}: ${problems.join('; ')}`);
      if (++shown >= max) {
        if (total > shown) {
          io.out(`  ... and ${total - shown} more rejected lines`);
        }
        return;
      }
    }
  }
}

interface Upload {
  /** Resolves with the job's path (Content-Location) once the service answered 202. */
  accepted: Promise<string>;
  bytesSent(): number;
  totalBytes: number;
}

/** Streams the file to the service; the service answers 202 at once and reads the body as it comes. */
function startUpload(base: string, token: string, file: string): Upload {
  const totalBytes = statSync(file).size;
  let sent = 0;
  const url = new URL(`${base}/api/v1/import`);
  const accepted = new Promise<string>((resolveJob, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : request)(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'content-length': String(totalBytes), prefer: 'respond-async' },
    });
    // After a cancel or a failed job the service closes the connection: the job's status says why.
    req.on('error', (err) => reject(err));
    req.once('response', (res) => {
      if (res.statusCode !== 202 || !res.headers['content-location']) {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${outcomeText(body)}`)));
        return;
      }
      res.resume();
      resolveJob(res.headers['content-location']);
    });
    const stream = createReadStream(file);
    stream.on('data', (chunk) => {
      sent += chunk.length;
    });
    stream.pipe(req);
  });
  return { accepted, bytesSent: () => sent, totalBytes };
}

function outcomeText(body: string): string {
  try {
    const o = JSON.parse(body) as { issue?: { details?: { text?: string } }[] };
    return (o.issue ?? []).map((i) => i.details?.text).join('; ') || body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

