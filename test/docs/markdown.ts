/**
 * Just enough Markdown reading for the documentation tests: the table that follows a marker comment,
 * as rows of cells, and the fenced code blocks of a file with the line they start on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';

/** A file of the repository, as text. */
export function repoFile(path: string): string {
  return readFileSync(join(projectRoot(), path), 'utf8');
}

/** The cells of one table row: split on `|` that is not escaped (`\|`), trimmed, outer pipes dropped. */
export function cells(line: string): string[] {
  const parts = line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/);
  return parts.map((p) => p.trim().replace(/\\\|/g, '|'));
}

/**
 * The body rows of the first table after `<!-- marker -->` (header and separator skipped).
 * @returns Each row's cells and its 1-based line number.
 */
export function tableAfter(markdown: string, marker: string): { cells: string[]; line: number }[] {
  return tableWithHeader(markdown, marker).rows;
}

/** The header cells and the body rows of the first table after `<!-- marker -->`. */
export function tableWithHeader(markdown: string, marker: string): { header: string[]; rows: { cells: string[]; line: number }[] } {
  const lines = markdown.split('\n');
  const at = lines.findIndex((l) => l.trim() === `<!-- ${marker} -->`);
  if (at < 0) {
    throw new Error(`no <!-- ${marker} --> marker`);
  }
  let i = at + 1;
  while (i < lines.length && !lines[i].trim().startsWith('|')) {
    i++;
  }
  const header = i < lines.length ? cells(lines[i]) : [];
  const rows: { cells: string[]; line: number }[] = [];
  for (i += 2; i < lines.length && lines[i].trim().startsWith('|'); i++) {
    rows.push({ cells: cells(lines[i]), line: i + 1 });
  }
  return { header, rows };
}

/** Every `<!-- name: value -->` marker of a file, as values. */
export function markers(markdown: string, name: string): string[] {
  return [...markdown.matchAll(new RegExp(`<!-- ${name}: ([^ ]+) -->`, 'g'))].map((m) => m[1]);
}

/** The text inside backticks, in order. */
export function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}
