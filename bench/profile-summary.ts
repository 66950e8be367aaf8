/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, as `npm run bench:backfill -- --cpu-prof` writes):
 * `node dist/bench/profile-summary.js <file.cpuprofile> [--top 25]`.
 *
 * Prints where the CPU time went, by area (our folders, each dependency, native/GC) and by function
 * (self time), and the longest stretches without an idle sample (what held the event loop, with the
 * functions most seen in them): the evidence behind the figures in docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The area a frame's code belongs to. */
function areaOf(f: CallFrame): string {
  if (!f.url) {
    return f.functionName.startsWith('(') ? f.functionName : 'native';
  }
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url);
  if (dep) {
    return dep[1];
  }
  const ours = /\/(src|bench)\/([^/]+)\//.exec(f.url) ?? /\/(src|bench)\/([^/]+)\.js/.exec(f.url);
  if (ours) {
    return `${ours[1]}/${ours[2]}`;
  }
  return f.url.startsWith('node:') ? 'node' : 'other';
}

function main(): void {
  const file = process.argv[2];
  const topIndex = process.argv.indexOf('--top');
  const top = topIndex < 0 ? 25 : Number(process.argv[topIndex + 1]);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) {
      parent.set(c, n.id);
    }
  }
  const selfMs = new Map<number, number>();
  let total = 0;
  let idle = 0;
  // Busy stretches: consecutive non-idle samples.
  const stretches: { ms: number; nodes: Map<number, number> }[] = [];
  let current: { ms: number; nodes: Map<number, number> } | undefined;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const name = byId.get(id)?.callFrame.functionName ?? '';
    if (name === '(idle)') {
      idle += ms;
      if (current) {
        stretches.push(current);
        current = undefined;
      }
      return;
    }
    selfMs.set(id, (selfMs.get(id) ?? 0) + ms);
    current ??= { ms: 0, nodes: new Map() };
    current.ms += ms;
    current.nodes.set(id, (current.nodes.get(id) ?? 0) + ms);
  });
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const f = byId.get(id)!.callFrame;
    areas.set(areaOf(f), (areas.get(areaOf(f)) ?? 0) + ms);
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|src|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + ms);
  }
  const busy = total - idle;
  const pct = (ms: number): string => `${((ms / busy) * 100).toFixed(1)} %`;
  console.log(`${file}: ${(total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (${((busy / total) * 100).toFixed(0)} %)`);
  console.log('\nself time by area (share of busy time):');
  for (const [a, ms] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    console.log(`  ${pct(ms).padStart(7)}  ${a}`);
  }
  console.log('\nself time by function:');
  for (const [f, ms] of [...functions].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    console.log(`  ${pct(ms).padStart(7)}  ${f}`);
  }
  // What a stretch was doing: the first frame of ours (src/) or of a dependency under the task's root.
  const ourFrame = (id: number): string => {
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n)!.callFrame;
      if (/\/src\//.test(f.url)) {
        return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/src\//, 'src/')}:${f.lineNumber + 1}`;
      }
    }
    return byId.get(id)!.callFrame.functionName || '(anonymous)';
  };
  console.log('\nlongest busy stretches (no idle sample in between), with the code of ours most seen in each:');
  for (const s of stretches.sort((a, b) => b.ms - a.ms).slice(0, 10)) {
    const seen = new Map<string, number>();
    for (const [id, ms] of s.nodes) {
      seen.set(ourFrame(id), (seen.get(ourFrame(id)) ?? 0) + ms);
    }
    const main = [...seen].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, ms]) => `${k} (${Math.round(ms)} ms)`);
    console.log(`  ${Math.round(s.ms)} ms: ${main.join('; ')}`);
  }
}

main();
