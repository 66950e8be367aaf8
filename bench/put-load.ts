/**
 * The intake load: single-record PUTs (the benchmark dataset's records as templates, each request with
 * a fresh id, so every one is a write) from autocannon in this process against a server in its own
 * process, with that process's CPU time per request. Shared by the intake and instances benchmarks.
 */
import autocannon from 'autocannon';
import { type Child, cpuMsOf, loadAverage } from './child.js';
import { buildDataset } from './records.js';

export interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
  /** The server process's CPU time per request, in microseconds: steadier than PUT/s on a shared machine. */
  cpuUs: number;
  load: string;
}

/** Request bodies: the benchmark dataset's records as templates, each request with a fresh id. */
function requestTemplates(): { collection: string; before: string; after: string }[] {
  const { lines } = buildDataset(3);
  return lines.map((l) => {
    const [before, after] = JSON.stringify({ ...l.record, id: '__BENCH_ID__' }).split('__BENCH_ID__');
    return { collection: `${l.kind}s`, before, after };
  });
}

/**
 * PUTs for `duration` seconds over `connections` connections; `runId` keeps ids of runs apart.
 * @param options.clientPerRequest - every record of a new client (its own MRN) instead of the three
 *   clients of the templates: records of one client are stored in order (their queue head is locked per
 *   put), so a load on few clients measures that serialisation as well as the intake.
 */
export async function measure(
  server: Child,
  token: string,
  connections: number,
  duration: number,
  runId: string,
  options: { clientPerRequest?: boolean } = {}
): Promise<Figures> {
  const { url } = server;
  const pid = server.child.pid as number;
  const cpuBefore = await cpuMsOf(pid);
  const templates = requestTemplates();
  let n = 0;
  const result = await autocannon({
    url,
    connections,
    duration,
    requests: [
      {
        method: 'PUT',
        setupRequest: (req) => {
          const t = templates[n % templates.length];
          const id = `b${runId}-${(n++).toString(36)}`;
          return {
            ...req,
            method: 'PUT',
            path: `/api/v1/${t.collection}/${id}`,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: options.clientPerRequest ? `${t.before}${id}${t.after}`.replace(/"mrn":"[^"]+"/, `"mrn":"MRN-${id}"`) : `${t.before}${id}${t.after}`,
          };
        },
      },
    ],
  });
  const cpuMs = (await cpuMsOf(pid)) - cpuBefore;
  return {
    cpuUs: (cpuMs * 1000) / Math.max(1, result.requests.total),
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
    load: loadAverage(),
  };
}

