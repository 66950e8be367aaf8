/**
 * A mapping change to try without deploying it: the deployed mappings with some mapping documents
 * replaced by candidates (pasted in the console's playground), each checked exactly as the loader
 * checks a file (mappings/mapping.schema.json, then every expression compiled), every problem at once.
 */
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import type { RecordKind } from '../domain/records.js';
import { compileMapping } from '../mapping/compile.js';
import { compileMappingSchema, schemaProblems } from '../mapping/schema.js';
import type { LoadedMapping, MappingFile, MappingSet } from '../mapping/types.js';
import { inputInvalid, OperationOutcomeError, type Problem } from '../outcomes.js';
import { projectRoot } from '../paths.js';

let schema: ValidateFunction | undefined;

/**
 * The deployed set with candidates replacing the mappings of their kinds.
 * @param at - JSON pointer of the candidates in the request (`/mappings`), for problem paths.
 * @throws OperationOutcomeError(inputInvalid) naming every problem of every candidate.
 */
export function withCandidates(base: MappingSet, candidates: unknown[], at: string): MappingSet {
  schema ??= compileMappingSchema(join(projectRoot(), 'mappings', 'mapping.schema.json'));
  const problems: Problem[] = [];
  const loaded: LoadedMapping[] = [];
  const kinds = new Set<RecordKind>();
  candidates.forEach((doc, i) => {
    const here = `${at}/${i}`;
    const schemaIssues = schemaProblems(schema as ValidateFunction, doc);
    if (schemaIssues.length > 0) {
      problems.push(...schemaIssues.map((p) => ({ ...p, path: `${here}${p.path}` })));
      return;
    }
    const def = doc as MappingFile;
    if (kinds.has(def.kind)) {
      problems.push({ path: `${here}/kind`, message: `a second candidate for kind ${def.kind}: give one per kind` });
      return;
    }
    kinds.add(def.kind);
    const { expressions, problems: compile } = compileMapping(def, base.conceptMaps);
    problems.push(...compile.map((p) => ({ ...p, path: `${here}${p.path}` })));
    loaded.push({ id: def.id, version: def.version, kind: def.kind, definition: def, expressions, file: `candidate ${i}` });
  });
  if (problems.length > 0) {
    throw new OperationOutcomeError(inputInvalid(problems));
  }
  const mappings = [...base.mappings.filter((m) => !kinds.has(m.kind)), ...loaded];
  return {
    mappings,
    conceptMaps: base.conceptMaps,
    get: (kind) => mappings.find((m) => m.kind === kind) ?? base.get(kind),
  };
}
