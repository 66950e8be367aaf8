/**
 * `collateral-fhir views run <name> --format csv|ndjson|parquet|json [--out FILE]`: runs a shipped
 * view (views/<name>.json) on a running service through POST /fhir/$viewdefinition-run and streams
 * the result to a file or standard output, with a progress line on standard error when it is a
 * terminal. `views list` names the views of this checkout.
 */
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OUTPUT_FORMATS } from '../analytics/output/index.js';
import { loadViews } from '../analytics/views.js';
import { outcomeLines } from './outcome-text.js';

export const VIEWS_USAGE = `  views list                          the views of views/ (name, resource, title)
  views run NAME --format csv|ndjson|parquet|json [--out FILE]
                                      run a view on the service's data (de-identified)
          --identified                deidentify=false (privacy-officer or admin only; audited)
          --patient ID  --group ID    only that Patient's / Group's members' data
          --since INSTANT --limit N   changed since; at most N rows
          --no-header                 CSV without the header line
          --url URL --token TOKEN     the service (default http://127.0.0.1:$PORT or 8080; $API_TOKEN or DATA_DIR/api-token)`;

/** Where the command writes: standard output (a byte stream) and standard error, and the environment. */
export interface ViewsIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

const OPTIONS = {
  format: { type: 'string' },
  out: { type: 'string', short: 'o' },
  identified: { type: 'boolean' },
  patient: { type: 'string' },
  group: { type: 'string', multiple: true },
  since: { type: 'string' },
  limit: { type: 'string' },
  'no-header': { type: 'boolean' },
  url: { type: 'string' },
  token: { type: 'string' },
} as const;

/**
 * Runs `views ...`.
 * @param argv - The words after `views`.
 * @returns The exit code: 0 done, 1 the service refused or failed, 2 bad usage.
 */
export async function viewsCommand(argv: string[], io: ViewsIo): Promise<number> {
  const say = (text: string): void => void io.stderr.write(`${text}\n`);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    say(`${err instanceof Error ? err.message : String(err)}\n\n${VIEWS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, name] = positionals;
  if (sub === 'list') {
    for (const v of loadViews().list()) {
      io.stdout.write(`${v.name.padEnd(24)} ${v.view.resource.padEnd(18)} ${String(v.view.definition.title ?? '')}\n`);
    }
    return 0;
  }
  if (sub !== 'run' || !name) {
    say(VIEWS_USAGE);
    return 2;
  }
  const format = values.format ?? '';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    say(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`);
    return 2;
  }
  if (format === 'parquet' && !values.out && io.stdout.isTTY) {
    say('Parquet is binary: give --out FILE or redirect standard output.');
    return 2;
  }
  const token = values.token ?? io.env.API_TOKEN ?? io.env.API_TOKENS?.split(',')[0]?.trim() ?? tokenFile(io.env.DATA_DIR);
  if (!token) {
    say('No API token: pass --token, set API_TOKEN, or start the service once so DATA_DIR/api-token exists.');
    return 2;
  }
  const url = values.url ?? `http://127.0.0.1:${io.env.PORT ?? 8080}`;
  const body = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'viewReference', valueReference: { reference: `ViewDefinition/${name}` } },
      { name: '_format', valueCode: format },
      ...(values['no-header'] ? [{ name: 'header', valueBoolean: false }] : []),
      ...(values.identified ? [{ name: 'deidentify', valueBoolean: false }] : []),
      ...(values.patient ? [{ name: 'patient', valueReference: { reference: `Patient/${values.patient}` } }] : []),
      ...(values.group ?? []).map((g) => ({ name: 'group', valueReference: { reference: `Group/${g}` } })),
      ...(values.since ? [{ name: '_since', valueInstant: values.since }] : []),
      ...(values.limit ? [{ name: '_limit', valueInteger: Number(values.limit) }] : []),
    ],
  };
  let res: Response;
  try {
    res = await fetch(`${url}/fhir/$viewdefinition-run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(body),
    });
  } catch {
    say(`No collateral-fhir service answers at ${url}. Start it first: npm start`);
    return 1;
  }
  if (res.status !== 200 || !res.body) {
    const text = await res.text();
    say(`The service answered HTTP ${res.status}:`);
    try {
      const outcome = JSON.parse(text) as { issue?: { expression?: string[]; details?: { text?: string }; code?: string }[] };
      (outcome.issue ?? []).forEach((i) => say(`  ${i.expression?.[0] || '/'}: ${i.details?.text ?? i.code}`));
    } catch {
      say(`  ${text.slice(0, 500)}`);
    }
    return 1;
  }
  const out = values.out ? createWriteStream(values.out) : io.stdout;
  const progress = new Progress(io.stderr, format);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      progress.add(chunk);
      if (!out.write(chunk)) {
        await once(out, 'drain');
      }
    }
  } catch (err) {
    progress.done();
    say(`The result was cut short (the view failed on the service, or the connection dropped): ${outcomeLines(err).join(' ').trim()}`);
    return 1;
  }
  progress.done();
  if (values.out) {
    out.end();
    await once(out, 'finish');
    say(`Wrote ${progress.summary()} to ${values.out}`);
  }
  return 0;
}

function tokenFile(dataDir: string | undefined): string | undefined {
  const file = join(resolve(dataDir ?? './data'), 'api-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** A one-line progress display on a terminal: rows (for text formats), bytes, rate; silent otherwise. */
class Progress {
  private bytes = 0;
  private rows = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: ViewsIo['stderr'],
    private readonly format: string
  ) {}

  add(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.format === 'csv' || this.format === 'ndjson') {
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] === 10) {
          this.rows++;
        }
      }
    }
    const now = Date.now();
    // Only large runs: nothing in the first second, then ten times a second at most.
    if (this.stream.isTTY && now - this.started > 1000 && now - this.lastDraw > 100) {
      this.lastDraw = now;
      this.drawn = true;
      this.stream.write(`\r${this.summary()} (${(this.bytes / 1e6 / ((now - this.started) / 1000)).toFixed(1)} MB/s)   `);
    }
  }

  summary(): string {
    const rows = this.format === 'csv' || this.format === 'ndjson' ? `${this.rows.toLocaleString('en-US')} lines, ` : '';
    return `${rows}${(this.bytes / 1e6).toFixed(1)} MB in ${((Date.now() - this.started) / 1000).toFixed(1)} s`;
  }

  done(): void {
    if (this.drawn) {
      this.stream.write('\n');
    }
  }
}
