/**
 * `collateral-fhir verify-target`: compares the ledger of the configured target with the target itself
 * (src/sync/verify-target.ts) and reports missing or changed resources, duplicate identifiers and orphan
 * Provenances. Exit code 0: no problems; 1: problems; 2: the check could not run.
 *
 * The ledger: the embedded SQLite store is opened read-only (the service may keep running); PostgreSQL
 * (DATABASE_URL) is read under the CLI's own instance name, never touching a running instance's leases.
 * The target: FHIR_BASE_URL with the sync's FHIR_AUTH_* settings, or, without it, the embedded server of
 * the running service (`<service>/fhir`, with the API token as `sync` finds it).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createTargetAuth } from '../fhir/auth/index.js';
import { createKitClientTarget } from '../fhir/kit-client.js';
import type { FhirTarget } from '../fhir/port.js';
import { openStore, sqliteStorePath } from '../store/open-store.js';
import { openReadOnlyLedger, type LedgerReader } from '../store/sqlite/read-only-ledger.js';
import { verifyTarget, type VerifyProblem, type VerifyReport } from '../sync/verify-target.js';
import { resolveServiceConnection, targetNameOf } from './cli-config.js';
import { outcomeLines } from './outcome-text.js';
import type { CommandIo } from './sync-command.js';

export const VERIFY_TARGET_USAGE = `  verify-target                       compare the ledger with the target: missing or changed resources,
                                      duplicate identifiers, orphan Provenances (exit 0 none, 1 problems, 2 error)
          the target: FHIR_BASE_URL with FHIR_AUTH_*; else the running service's embedded server
          --url URL --token TOKEN --data-dir DIR   the service and store (as for sync)
          --chunk-size N                        ids or identifiers per search, and page size (default 50)
          --json                                the report as JSON`;

/** Runs `verify-target`. */
export async function verifyTargetCommand(argv: string[], io: CommandIo): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        'data-dir': { type: 'string' },
        'chunk-size': { type: 'string' },
        json: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n\n${VERIFY_TARGET_USAGE}`);
    return 2;
  }
  const chunkSize = values['chunk-size'] === undefined ? 50 : Number(values['chunk-size']);
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 1000) {
    io.err(`--chunk-size must be a whole number from 1 to 1000 (got "${values['chunk-size']}")`);
    return 2;
  }
  let ledger: LedgerReader | undefined;
  try {
    const conn = resolveServiceConnection(io.env, { url: values.url, token: values.token, dataDir: values['data-dir'] });
    const config = conn.config;
    const targetName = targetNameOf(config);
    let target: FhirTarget;
    if (config.fhirBaseUrl) {
      const auth = await createTargetAuth({ settings: config.fhirAuth, fhirBaseUrl: config.fhirBaseUrl, timeoutMs: config.sync.requestTimeoutMs });
      target = createKitClientTarget({ name: targetName, baseUrl: config.fhirBaseUrl, auth: auth.source, timeoutMs: config.sync.requestTimeoutMs });
    } else {
      if (!conn.token) {
        io.err(`No API token for the embedded FHIR server of the service at ${conn.url}: ${conn.tokenSource}`);
        return 2;
      }
      const token = conn.token;
      target = createKitClientTarget({ name: targetName, baseUrl: `${conn.url}/fhir`, bearerToken: () => token, timeoutMs: config.sync.requestTimeoutMs });
    }
    const file = sqliteStorePath(config.dataDir);
    if (!config.databaseUrl && !existsSync(file)) {
      io.err(`No store at ${file}: pass --data-dir or set DATA_DIR.`);
      return 2;
    }
    const reader: LedgerReader = config.databaseUrl
      ? await openStore(config).then((s) => ({ listLedger: (t: string) => s.ledger.listLedger(t), close: () => s.close() }))
      : openReadOnlyLedger(file);
    ledger = reader;
    const entries = await reader.listLedger(targetName);
    const report = await verifyTarget({ target, targetName, ledger: entries, ns: config.identifierNamespace, chunkSize });
    if (values.json) {
      io.out(JSON.stringify(report, null, 2));
    } else {
      printReport(report, io);
    }
    return report.problems.length === 0 ? 0 : 1;
  } catch (err) {
    io.err(['verify-target could not run:', ...outcomeLines(err)].join('\n'));
    return 2;
  } finally {
    await ledger?.close();
  }
}

function printReport(r: VerifyReport, io: CommandIo): void {
  const c = r.checked;
  io.out(`target ${r.target}`);
  io.out(`checked ${c.ledgerEntries} ledger entries, ${c.identifiers} identifiers for duplicates, ${c.provenances} Provenances with our write tag (${c.versionsRead} earlier versions read)`);
  io.out(r.problems.length === 0 ? 'no problems' : `${r.problems.length} problems:`);
  r.problems.forEach((p) => io.out(`  ${problemLine(p)}`));
  r.notChecked.forEach((n) => io.out(`not checked: ${n}`));
}

/** One line per problem: types, ids, versions, codes, record ids and write tags only. */
export function problemLine(p: VerifyProblem): string {
  switch (p.check) {
    case 'missing':
      return `MISSING ${p.resourceType}/${p.id} (record ${p.record}, ${p.identifier}): in the ledger, not on the target`;
    case 'changed':
      return `CHANGED ${p.resourceType}/${p.id} (record ${p.record}, ${p.identifier}): ledger version ${p.ledgerVersion}, target version ${p.targetVersion}`;
    case 'duplicate':
      return `DUPLICATE ${p.resourceType} ${p.identifier}${p.record ? ` (record ${p.record})` : ''}: ${p.ids.map((id) => `${p.resourceType}/${id}`).join(', ')}`;
    case 'orphan-provenance':
      return `ORPHAN Provenance/${p.id}: ${p.reason}${p.target ? ` (target ${p.target})` : ''}`;
  }
}
