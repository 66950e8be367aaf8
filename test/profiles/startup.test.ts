/**
 * A broken mapping file or profile stops the real service at start-up, naming the file and the path:
 * the built service runs from a private copy of the project data (package.json, mappings/, profiles/,
 * schemas/) that each case breaks in its own way.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/paths.js';
import { buildService } from '../helpers/built-service.js';

const ROOT = projectRoot();
let main: string;
let home: string;
const dataDir = mkdtempSync(join(tmpdir(), 'startup-data-'));

beforeAll(() => {
  main = buildService('startup-test');
  // The built service finds its data next to the nearest package.json that has mappings/ beside it.
  home = dirname(dirname(main));
  writeFileSync(join(home, 'package.json'), JSON.stringify({ name: 'startup-test', type: 'module' }));
  cpSync(join(ROOT, 'schemas'), join(home, 'schemas'), { recursive: true });
}, 180_000);

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
  for (const d of ['package.json', 'schemas', 'mappings', 'profiles']) {
    rmSync(join(home, d), { recursive: true, force: true });
  }
});

function fresh(): void {
  for (const d of ['mappings', 'profiles']) {
    rmSync(join(home, d), { recursive: true, force: true });
    cpSync(join(ROOT, d), join(home, d), { recursive: true });
  }
}

async function start(): Promise<{ code: number; stderr: string }> {
  const env = { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'error', SYNC_ENABLED: 'false' };
  const r = await promisify(execFile)(process.execPath, [main], { env, timeout: 30_000 }).catch((e: { code: number; stderr: string }) => e);
  return { code: (r as { code?: number }).code ?? 0, stderr: (r as { stderr: string }).stderr };
}

test('a broken mapping file: start-up fails naming the file and the JSON path', async () => {
  fresh();
  const file = join(home, 'mappings', 'note.v1.json');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"write": "upsert"', '"write": "overwrite"'));
  const r = await start();
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^collateral-fhir failed to start: .*mappings\/note\.v1\.json: must be one of: upsert, create-if-none-exist.*\/resources\/0\/write/m);
}, 60_000);

test('a broken profile: start-up fails naming the file and what is wrong', async () => {
  fresh();
  const file = join(home, 'profiles', 'StructureDefinition-collateral-encounter.json');
  const sd = JSON.parse(readFileSync(file, 'utf8'));
  delete sd.snapshot;
  writeFileSync(file, JSON.stringify(sd));
  const r = await start();
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/collateral-fhir failed to start: .*profiles\/StructureDefinition-collateral-encounter\.json: has no snapshot/);
}, 60_000);
