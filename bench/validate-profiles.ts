/**
 * What profile validation costs per resource: the mapping output of every golden case, validated
 * (1) against FHIR R4 only, (2) with @medplum/core's `validateResource(resource, { profile })`, which
 * parses the profile on every call, and (3) the way the sync does it, the profile compiled once
 * (src/profiles/compile.ts). Also the one-time cost of loading the pack.
 *
 *   npm run build && node dist/bench/validate-profiles.js [rounds]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { validateResource } from '@medplum/core';
import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../src/fhir/definitions.js';
import { loadMappings } from '../src/mapping/index.js';
import { projectRoot } from '../src/paths.js';
import { loadProfiles } from '../src/profiles/pack.js';
import { validateAgainstProfile } from '../src/profiles/validate.js';
import { loadCaseFiles, runCase } from '../src/profiles/workbench/cases.js';

const rounds = Number(process.argv[2] ?? 20);

loadFhirDefinitions();
const mappings = loadMappings();
const t0 = performance.now();
const pack = loadProfiles();
const loadMs = performance.now() - t0;

// Cases under another namespace are left out: they need a pack compiled for it.
const resources: Resource[] = loadCaseFiles()
  .files.flatMap((file) => file.suite.cases.map((_c, i) => runCase(file, i, mappings, () => pack)))
  .filter((r) => r.context.config.ns === pack.ns)
  .flatMap((r) => r.actual ?? []);
const published = new Map(
  pack.profiles.map((p) => [p.url, JSON.parse(readFileSync(join(projectRoot(), p.file), 'utf8')) as StructureDefinition])
);

function time(label: string, validate: (r: Resource) => void): number {
  for (const r of resources) {
    validate(r); // warm-up: JIT, FHIRPath cache
  }
  const start = performance.now();
  for (let i = 0; i < rounds; i++) {
    for (const r of resources) {
      validate(r);
    }
  }
  const perResource = (performance.now() - start) / (rounds * resources.length);
  console.log(`${label.padEnd(58)} ${(perResource * 1000).toFixed(0).padStart(6)} µs per resource`);
  return perResource;
}

const quiet = (fn: () => unknown): void => {
  try {
    fn();
  } catch {
    // the bench measures cost; every golden output is valid (test/mapping-cases proves it)
  }
};

console.log(`${resources.length} resources (golden case outputs), ${rounds} rounds; node ${process.version}`);
console.log(`loading the profile pack once (read, check, compile ${pack.profiles.length} profiles): ${loadMs.toFixed(0)} ms`);
const base = time('FHIR R4 only: validateResource(resource)', (r) => quiet(() => validateResource(r)));
const medplum = time('medplum profile: validateResource(resource, { profile })', (r) =>
  quiet(() => validateResource(r, { profile: published.get(r.meta?.profile?.[0] ?? '') }))
);
const ours = time('ours, compiled once: validateAgainstProfile (sync, $validate)', (r) => {
  const profile = pack.get(r.meta?.profile?.[0] ?? '');
  if (profile) {
    validateAgainstProfile(r, profile);
  }
});
console.log(`profile validation compiled once costs ${(ours / base).toFixed(1)}x R4-only validation and ${(medplum / ours).toFixed(1)}x less than parsing per call`);
for (const type of [...new Set(resources.map((r) => r.resourceType))].sort()) {
  const subset = resources.filter((r) => r.resourceType === type);
  const start = performance.now();
  for (let i = 0; i < rounds; i++) {
    for (const r of subset) {
      validateAgainstProfile(r, pack.get(r.meta?.profile?.[0] ?? '')!);
    }
  }
  console.log(`  ${type.padEnd(20)} ${String(subset.length).padStart(4)} resources  ${(((performance.now() - start) / (rounds * subset.length)) * 1000).toFixed(0).padStart(6)} µs each`);
}
