/**
 * Every relative link in the repository's Markdown leads somewhere: the file exists, and a `#anchor`
 * names a heading of it (GitHub's heading ids). A newcomer following the README index never hits a
 * dead end.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { projectRoot } from '../../src/paths.js';

const ROOT = projectRoot();

/**
 * Linked from the README index, written by other tracks at the same time (operations, analytics,
 * security): allowed to be missing until they are merged. Remove each entry once its file exists
 * (the last test fails to remind you).
 */
const PENDING: string[] = [];

function markdownFiles(): string[] {
  const listed = existsSync(join(ROOT, '.git'))
    ? execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], { cwd: ROOT, encoding: 'utf8' }).split('\n')
    : ['README.md', 'docs/contract.md', 'docs/fhir-mapping.md', 'docs/contributing.md', 'docs/architecture.md'];
  return listed.filter((f) => f && !f.startsWith('node_modules/') && existsSync(join(ROOT, f)));
}

/** GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens. */
function headingId(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => headingId(m[1])));
}

/** The relative links of a Markdown text (code blocks and code spans excluded). */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^(https?:|mailto:)/.test(l));
}

describe('relative links in Markdown', () => {
  test('every linked file exists and every #anchor is a heading there', () => {
    const problems: string[] = [];
    for (const file of markdownFiles()) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const link of links(text)) {
        const [path, anchor] = link.split('#');
        const target = path ? normalize(join(dirname(file), path)) : file;
        const rel = relative('.', target);
        if (!existsSync(join(ROOT, target))) {
          if (!PENDING.includes(rel)) {
            problems.push(`${file}: ${link} -> ${rel} does not exist`);
          }
          continue;
        }
        if (anchor && target.endsWith('.md') && !anchorsOf(readFileSync(join(ROOT, target), 'utf8')).has(anchor)) {
          problems.push(`${file}: ${link} -> no heading "#${anchor}" in ${rel}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('heading ids are computed as GitHub does', () => {
    expect(headingId('8. States and the operations surface')).toBe('8-states-and-the-operations-surface');
    expect(headingId('Five-minute tour (curl)')).toBe('five-minute-tour-curl');
    expect(headingId('The admin side: `/fhir/_admin`')).toBe('the-admin-side-fhir_admin');
  });

  test('the files still pending from other tracks are listed only while missing', () => {
    expect(PENDING.filter((f) => existsSync(join(ROOT, f)))).toEqual([]);
  });
});
