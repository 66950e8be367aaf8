/**
 * `collateral-fhir map <file|->`: the FHIR resources a record or an NDJSON file of records would
 * become, with every validation issue. Nothing is stored or sent. A record's participants or session
 * are taken from the same file (put them on earlier lines).
 */
import { parseArgs } from 'node:util';
import { isRecordKind, type RecordKind } from '../domain/records.js';
import { loadProfiles } from '../profiles/pack.js';
import { dryRun, type DryRunResult } from '../profiles/workbench/dry-run.js';
import { mappingConfigOf, serviceConfig } from './cli-config.js';
import type { CommandIo } from './io.js';
import { loadMappingsOrReport } from './load-mappings.js';
import { parseRecords } from '../profiles/workbench/record-input.js';

export const MAP_USAGE = `  map <file|->   the FHIR resources a record (JSON) or records (NDJSON of {"kind","record"}) map to, validated
          --kind KIND        the kind of a single bare JSON record
          --mappings DIR     mappings folder (default mappings/)
          --text             one line per record and issue instead of JSON
          Namespace, MRN system and contact-detail policy come from the environment, as for the service.`;

export async function mapCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { kind: { type: 'string' }, mappings: { type: 'string' }, text: { type: 'boolean' } },
  });
  const file = positionals[0];
  if (!file) {
    io.err(`map needs a file (or - for standard input)\n\n${MAP_USAGE}`);
    return 2;
  }
  if (values.kind !== undefined && !isRecordKind(values.kind)) {
    io.err(`--kind must be participant, consent, session or note (got "${values.kind}")`);
    return 2;
  }
  const config = serviceConfig(io.env);
  const mappings = loadMappingsOrReport(io, values.mappings);
  if (!mappings) {
    return 1;
  }
  const parsed = parseRecords(await io.read(file), values.kind as RecordKind | undefined);
  const mappedResults = await dryRun(parsed.records, {
    mappings,
    pack: loadProfiles({ ns: config.identifierNamespace }),
    config: mappingConfigOf(config),
  });
  const results: DryRunResult[] = [...parsed.rejected, ...mappedResults].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const count = (s: DryRunResult['status']): number => results.filter((r) => r.status === s).length;
  if (values.text) {
    results.forEach((r) => printText(r, io));
    io.out(`${results.length} records: ${count('valid')} valid, ${count('invalid')} invalid output, ${count('rejected')} rejected`);
  } else {
    io.out(JSON.stringify({ records: results.length, valid: count('valid'), invalid: count('invalid'), rejected: count('rejected'), results }, null, 2));
  }
  return results.length > 0 && count('valid') === results.length ? 0 : 1;
}

function printText(r: DryRunResult, io: CommandIo): void {
  const where = r.line !== undefined ? `line ${r.line} ` : '';
  io.out(`${where}${r.kind ?? '?'} ${r.id ?? '?'}: ${r.status.toUpperCase()}${r.mapping ? ` (${r.mapping})` : ''}`);
  for (const res of r.resources ?? []) {
    io.out(`  -> ${res.resourceType} ${res.key} [${res.profile ?? 'no profile'}]${res.valid ? '' : ' INVALID'}`);
  }
  for (const i of r.outcome?.issue ?? []) {
    io.out(`     ${i.expression?.[0] || '/'}: ${i.details?.text ?? i.code}`);
  }
}
