/**
 * The copy's own invariant, for the end-to-end tests that sync through faults and kill -9: the copy of
 * what was sent (DATA_DIR/fhir-copy/<key>.sqlite) holds exactly the resources the ledger says are on the
 * target, each at the version the ledger names, with the target's content for that version, except
 * those recorded as owed (a read-back the target could not answer yet, kept in the same file).
 */
import Database from 'better-sqlite3';
import type { Resource } from '@medplum/fhirtypes';
import { localCopyPath } from '../../src/local-copy/index.js';
import type { LedgerEntry } from '../../src/store/port.js';

/**
 * @param dataDir - The service's DATA_DIR.
 * @param targetName - The target's name (FHIR_BASE_URL as the service was given it).
 * @param ledger - listLedger(targetName) of the service's store.
 * @param adminUrl - Where the target's resources are read without restriction (startFhirTarget's adminUrl).
 * @returns Every problem found (empty when the copy matches).
 */
export async function verifyCopy(
  dataDir: string,
  targetName: string,
  ledger: LedgerEntry[],
  adminUrl: string
): Promise<{ problems: string[]; resources: number; owed: number }> {
  const db = new Database(localCopyPath(dataDir, targetName), { readonly: true, fileMustExist: true });
  const rows = db.prepare('SELECT resource_type AS type, id, content FROM resources WHERE deleted = 0').all() as { type: string; id: string; content: string }[];
  const owedRows = db.prepare('SELECT resource_type AS type, id, version_id AS versionId FROM copy_pending').all() as { type: string; id: string; versionId: string }[];
  db.close();
  const owed = new Set(owedRows.map((o) => `${o.type}/${o.id}@${o.versionId}`));
  const copy = new Map(rows.map((r) => [`${r.type}/${r.id}`, JSON.parse(r.content) as Resource]));
  const problems: string[] = [];
  const named = new Set<string>();
  for (const l of ledger) {
    const key = `${l.resourceType}/${l.resourceId}`;
    named.add(key);
    const held = copy.get(key);
    if (owed.has(`${key}@${l.versionId}`)) {
      continue; // owed: read back once the target answers (recorded before the record settled)
    }
    if (!held) {
      problems.push(`${key} is in the ledger but not in the copy`);
    } else if (l.versionId && held.meta?.versionId !== l.versionId) {
      problems.push(`${key}: the copy holds version ${held.meta?.versionId}, the ledger ${l.versionId}`);
    }
  }
  for (const [key, held] of copy) {
    if (!named.has(key)) {
      problems.push(`${key} is in the copy but not in the ledger`);
      continue;
    }
    const res = await fetch(`${adminUrl}/${key}`, { headers: { accept: 'application/fhir+json' } });
    const onTarget = JSON.parse(await res.text()) as Resource;
    if (onTarget.meta?.versionId === held.meta?.versionId && JSON.stringify(sorted(onTarget)) !== JSON.stringify(sorted(held))) {
      problems.push(`${key}: the copy's content differs from the target's for version ${held.meta?.versionId}`);
    }
  }
  return { problems, resources: copy.size, owed: owed.size };
}

/** Keys in order, recursively, so equal content compares equal whatever the key order. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) {
    return v.map(sorted);
  }
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
  }
  return v;
}
