/**
 * The README tour as data: the shell blocks marked `<!-- tour: setup -->` and `<!-- tour: step N -->`,
 * and the expectations written inside each step as shell comments:
 *
 *   # expect: TEXT               the output contains TEXT
 *   # expect 4x: TEXT            ... exactly 4 times
 *   # expect not: TEXT           ... does not contain TEXT
 *   # expect eventually: TEXT    run the step again (with a timeout) until it does; the step's other
 *                                expectations must hold on that same run
 */

export interface Expectation {
  mode: 'contains' | 'count' | 'not' | 'eventually';
  text: string;
  count?: number;
  line: string;
}

export interface TourStep {
  /** 0 for the setup block. */
  n: number;
  code: string;
  expectations: Expectation[];
}

/** Parses one `# expect...` comment line; undefined for any other line, an Error for a malformed one. */
export function parseExpectation(line: string): Expectation | Error | undefined {
  const m = /^\s*# expect\b(.*)$/.exec(line);
  if (!m) {
    return undefined;
  }
  const e = /^(?: (\d+)x| (not|eventually))?: (.+)$/.exec(m[1]);
  if (!e || e[3].trim() === '') {
    return new Error(`malformed expectation "${line.trim()}" (write "# expect: TEXT", "# expect 4x: TEXT", "# expect not: TEXT" or "# expect eventually: TEXT")`);
  }
  const text = e[3].trim();
  if (e[1]) {
    return { mode: 'count', count: Number(e[1]), text, line: line.trim() };
  }
  return { mode: (e[2] as 'not' | 'eventually' | undefined) ?? 'contains', text, line: line.trim() };
}

/**
 * The tour blocks of a README, in order.
 * @returns the setup, the steps, and every problem with the markup (unmarked shell blocks inside the
 *   tour section, steps out of order or without expectations, malformed expectations).
 */
export function parseTour(readme: string): { setup?: TourStep; steps: TourStep[]; problems: string[] } {
  const problems: string[] = [];
  const steps: TourStep[] = [];
  let setup: TourStep | undefined;
  const blocks = [...readme.matchAll(/(<!-- tour: (setup|step (\d+)) -->\n)?```(\w*)\n([\s\S]*?)\n```/g)];
  const tourStart = readme.indexOf('<!-- tour: setup -->');
  const tourEnd = tourStart < 0 ? -1 : readme.indexOf('\n## ', tourStart);
  for (const b of blocks) {
    const [, marker, which, num, lang, code] = b;
    const at = b.index ?? 0;
    if (!marker) {
      if (lang === 'sh' && tourStart >= 0 && at > tourStart && (tourEnd < 0 || at < tourEnd)) {
        problems.push(`a sh block in the tour has no <!-- tour: step N --> marker: ${code.split('\n')[0].slice(0, 60)}`);
      }
      continue;
    }
    if (lang !== 'sh') {
      problems.push(`the block after <!-- tour: ${which} --> must be a \`\`\`sh block`);
    }
    const expectations: Expectation[] = [];
    for (const line of code.split('\n')) {
      const e = parseExpectation(line);
      if (e instanceof Error) {
        problems.push(`${which}: ${e.message}`);
      } else if (e) {
        expectations.push(e);
      }
    }
    if (which === 'setup') {
      setup = { n: 0, code, expectations };
      continue;
    }
    const n = Number(num);
    if (n !== steps.length + 1) {
      problems.push(`step ${n} follows step ${steps.length}: number the steps 1, 2, 3...`);
    }
    if (expectations.length === 0) {
      problems.push(`step ${n} has no "# expect" line: write what it should print`);
    }
    steps.push({ n, code, expectations });
  }
  if (!setup) {
    problems.push('no <!-- tour: setup --> block');
  }
  return { setup, steps, problems };
}

function occurrences(haystack: string, needle: string): number {
  let count = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) {
    count++;
  }
  return count;
}

/** The expectations an output fails, as their lines. */
export function unmet(expectations: Expectation[], output: string): string[] {
  return expectations
    .filter((e) => {
      switch (e.mode) {
        case 'count':
          return occurrences(output, e.text) !== e.count;
        case 'not':
          return output.includes(e.text);
        default:
          return !output.includes(e.text);
      }
    })
    .map((e) => (e.mode === 'count' ? `${e.line} (found ${occurrences(output, e.text)})` : e.line));
}
