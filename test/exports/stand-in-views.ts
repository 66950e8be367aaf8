/**
 * TEST-ONLY stand-ins for what the analytics track provides to $viewdefinition-export: an evaluator
 * (@medplum/core's evalSqlOnFhir, one resource at a time, so it streams), NDJSON and CSV row files, a
 * lookup of named views and a minimal view check. The service wires the real ones at merge
 * (docs/exports.md, "What is wired").
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { evalSqlOnFhir } from '@medplum/core';
import type { Resource, ViewDefinition } from '@medplum/fhirtypes';
import type { Problem } from '../../src/outcomes.js';
import type { Row, RowFormat, RowSink, ViewExportDeps } from '../../src/exports/index.js';

function fileSink(path: string, line: (row: Row) => string, header?: string): RowSink {
  const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  if (header) {
    stream.write(header);
  }
  return {
    async write(row) {
      if (!stream.write(line(row))) {
        await once(stream, 'drain');
      }
    },
    async close() {
      stream.end();
      await once(stream, 'finish');
    },
  };
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

function columnsOf(view: ViewDefinition): string[] {
  return (view.select ?? []).flatMap((s) => (s.column ?? []).map((c) => c.name));
}

export const STAND_IN_FORMATS: Record<string, RowFormat> = {
  ndjson: { extension: 'ndjson', contentType: 'application/x-ndjson', open: (path) => fileSink(path, (row) => `${JSON.stringify(row)}\n`) },
  csv: {
    extension: 'csv',
    contentType: 'text/csv',
    open: (path, view) => {
      const cols = columnsOf(view);
      return fileSink(path, (row) => `${cols.map((c) => csvCell(row[c])).join(',')}\n`, `${cols.join(',')}\n`);
    },
  },
};

/** Stand-in dependencies with the given named views (`ViewDefinition/<name>`). */
export function standInViews(named: Record<string, ViewDefinition>): ViewExportDeps {
  return {
    async *runView(view: ViewDefinition, resources: AsyncIterable<Resource>) {
      for await (const r of resources) {
        yield* evalSqlOnFhir(view, [r]);
      }
    },
    formats: STAND_IN_FORMATS,
    resolveView: (reference) => named[reference.replace(/^ViewDefinition\//, '')],
    validateView(view: unknown): Problem[] {
      const v = view as (Partial<ViewDefinition> & { resourceType?: string }) | undefined;
      const problems: Problem[] = [];
      if (!v || v.resourceType !== 'ViewDefinition') {
        problems.push({ path: '/resourceType', message: 'must be ViewDefinition' });
      }
      if (!v?.resource) {
        problems.push({ path: '/resource', message: 'is required' });
      }
      if (!Array.isArray(v?.select) || v.select.length === 0) {
        problems.push({ path: '/select', message: 'must have at least one select' });
      }
      return problems;
    },
  };
}

/** One row per Encounter: a pseudonymous client key, the month, the status. */
export const SESSIONS_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'sessions',
  status: 'active',
  resource: 'Encounter',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()' },
        { name: 'client', path: 'subject.getReferenceKey(Patient)' },
        { name: 'start', path: 'period.start' },
        { name: 'status', path: 'status' },
      ],
    },
  ],
} as unknown as ViewDefinition;
