/**
 * `collateral-fhir remap`: maps every stored record with the current mappings and reports which FHIR
 * resources would change on the target (`--dry-run`, with a JSON diff per resource on `--diff`);
 * without --dry-run it queues the records whose output changed, for the running service to sync.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createConsentGate } from '../consent/gate.js';
import { isRecordKind } from '../domain/records.js';
import type { MappingSet } from '../mapping/index.js';
import { loadProfiles } from '../profiles/pack.js';
import { formatDiff } from '../profiles/workbench/diff.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { mappingConfigOf, serviceConfig, targetNameOf } from './cli-config.js';
import type { CommandIo } from './io.js';
import { loadMappingsOrReport } from './load-mappings.js';
import { planRemap, type RemapReport } from './remap-plan.js';

export const REMAP_USAGE = `  remap   map every stored record with the current mappings; report the FHIR resources that would change
          --dry-run          report only (default: also queue the changed records for sync)
          --diff             a JSON diff per changed resource (baseline output -> new output)
          --mappings DIR     the mappings to try (default mappings/)
          --baseline DIR     the mappings that wrote the target's content, for --diff (default mappings/)
          --kind KIND        only records of this kind
          --data-dir DIR     the store (default $DATA_DIR or ./data); target and namespace from the environment
          --json             the report as JSON
          The embedded store serves one process at a time: run remap with the service stopped.`;

export async function remapCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'dry-run': { type: 'boolean' },
      diff: { type: 'boolean' },
      mappings: { type: 'string' },
      baseline: { type: 'string' },
      kind: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (values.kind !== undefined && !isRecordKind(values.kind)) {
    io.err(`--kind must be participant, consent, session or note (got "${values.kind}")`);
    return 2;
  }
  const config = serviceConfig({ ...io.env, ...(values['data-dir'] ? { DATA_DIR: values['data-dir'] } : {}) });
  const file = join(config.dataDir, 'collateral.sqlite');
  if (!existsSync(file)) {
    io.err(`No store at ${file}: pass --data-dir or set DATA_DIR.`);
    return 2;
  }
  const mappings = loadMappingsOrReport(io, values.mappings);
  if (!mappings) {
    return 1;
  }
  const baseline: MappingSet | undefined = values.diff ? loadMappingsOrReport(io, values.baseline) : undefined;
  if (values.diff && !baseline) {
    return 1;
  }
  const store = new SqliteStore(file);
  try {
    const target = targetNameOf(config);
    const report = await planRemap({
      store,
      target,
      config: mappingConfigOf(config),
      mappings,
      pack: loadProfiles({ ns: config.identifierNamespace }),
      kind: values.kind as never,
      // The gate the service asks before each send: its decision shapes the output (labels, context.related).
      gate: createConsentGate(store, { timeZone: config.practiceTimeZone }),
      baseline,
    });
    let queued: number | undefined;
    if (!values['dry-run']) {
      const keys = [...new Map(report.changes.map((c) => [`${c.kind}/${c.recordId}`, { kind: c.kind, id: c.recordId }])).values()];
      queued = await store.outbox.requeue(keys, target);
    }
    if (values.json) {
      io.out(JSON.stringify({ ...report, ...(queued !== undefined ? { queued } : {}) }, null, 2));
    } else {
      printReport(report, io, queued);
    }
    return 0;
  } finally {
    await store.close();
  }
}

function printReport(r: RemapReport, io: CommandIo, queued: number | undefined): void {
  io.out(`target ${r.target}, mappings ${r.mappings.join(', ')}`);
  io.out(
    `${r.records} records: ${r.resources.changed} resources would change, ${r.resources.new} are not on the target, ${r.resources.unchanged} unchanged` +
      `; ${r.notMapped.length} records cannot be mapped now, ${r.skipped.length} blocked by policy`
  );
  for (const c of r.changes) {
    const invalid = c.issues.length > 0 ? ` - INVALID (${c.issues.length} profile errors)` : '';
    io.out(`${c.status.toUpperCase()} ${c.kind} ${c.recordId}: ${c.resourceType} ${c.identifier} (${c.before ?? 'never written'} -> ${c.after})${invalid}`);
    c.issues.forEach((i) => io.out(`    ${i.expression?.[0]}: ${i.details?.text}`));
    if (c.diffNote) {
      io.out(`    note: ${c.diffNote}`);
    }
    if (c.diff) {
      formatDiff(c.diff, ['old', 'new'], '    ').forEach((l) => io.out(l));
    }
  }
  for (const n of r.notMapped) {
    io.out(`NOT MAPPED ${n.kind} ${n.recordId}: ${n.reason}`);
  }
  if (queued !== undefined) {
    io.out(`${queued} records queued for sync`);
  } else {
    io.out('dry run: nothing queued');
  }
}
