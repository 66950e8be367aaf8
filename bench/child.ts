/**
 * Benchmark helpers: run the built service (or another script) as its own process, so the load
 * generator (this process) and the measured server never share an event loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';

export interface Child {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts `node script` and resolves when its output matches `ready` (the first group is the URL or port).
 * @param logFile - where the child's output goes (the service logs every request).
 */
export function startScript(script: string, env: Record<string, string>, ready: RegExp, logFile: string, nodeArgs: string[] = []): Promise<Child> {
  const child = spawn(process.execPath, [...nodeArgs, script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  let head = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${head}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      log.write(chunk);
      if (head.length < 100_000) {
        head += chunk.toString();
        const m = ready.exec(head);
        if (m) {
          clearTimeout(timer);
          head = '\u0000'.repeat(100_000); // stop matching
          const url = /^\d+$/.test(m[1]) ? `http://127.0.0.1:${m[1]}` : m[1];
          resolve({
            child,
            url,
            async stop() {
              if (child.exitCode === null && child.signalCode === null) {
                child.kill('SIGTERM');
                await once(child, 'exit');
              }
              log.end();
            },
          });
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${head.slice(0, 2000)}`));
    });
  });
}

/** The service's start-up line carries its URL (see test/helpers/built-service.ts). */
export const SERVICE_READY = /"message":"collateral-fhir started"[^\n]*"url":"([^"]+)"|"url":"([^"]+)"[^\n]*"message":"collateral-fhir started"/;

/** Resolves the URL group of SERVICE_READY whichever order the log fields came in. */
export function serviceReady(): RegExp {
  return {
    exec: (s: string) => {
      const m = SERVICE_READY.exec(s);
      return m ? ([m[0], m[1] ?? m[2]] as unknown as RegExpExecArray) : null;
    },
  } as RegExp;
}

/** Current and peak resident set size of a process in bytes (Linux /proc: VmRSS, VmHWM), or undefined when it is gone. */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** The 1, 5 and 15 minute load averages, printed beside each figure. */
export function loadAverage(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock ticks of 10 ms). */
export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
