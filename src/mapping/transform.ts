/**
 * mapRecord: one inbound record to its FHIR resources, by the mapping for its kind. Pure: no I/O,
 * no clock, no logging; every problem is returned at once in a transformFailed outcome.
 */
import { toTypedValue } from '@medplum/core';
import type { Identifier, Resource } from '@medplum/fhirtypes';
import type { AnyRecord, RecordKind } from '../domain/records.js';
import { fail, transformFailed } from '../outcomes.js';
import { bindAll } from './directives.js';
import { conditionAt, report, type Env } from './env.js';
import { EMPTY, type Scope } from './expressions.js';
import { lawfulToMap } from './invariants.js';
import { runRejects } from './rejects.js';
import { evaluateTemplate } from './template.js';
import type { MappedResource, MappingContext, MappingResult, MappingSet, ResourceRule } from './types.js';

/**
 * Maps one record.
 * @param set - The loaded mappings (loadMappings()).
 * @param kind - The record's kind.
 * @param record - The record, already valid against its inbound schema.
 * @param context - Deployment config and the records this one refers to.
 * @returns The resources to write, each with its upsert key.
 * @throws OperationOutcomeError(transformFailed) listing every problem with its input path.
 */
export function mapRecord(set: MappingSet, kind: RecordKind, record: AnyRecord, context: MappingContext): MappingResult {
  const mapping = set.get(kind);
  const env: Env = {
    mapping,
    maps: set.conceptMaps,
    ns: context.config.ns,
    record,
    focus: [toTypedValue(record)],
    problems: [],
  };
  const scope = baseScope(context);
  const rejected = runRejects(mapping.definition.reject ?? [], scope, env);
  const unlawful = lawfulToMap(kind, record);
  if (unlawful) {
    // Not even mapped to look for more problems: its content is never processed.
    fail(transformFailed(rejected.some((p) => p.path === unlawful.path) ? rejected : [...rejected, unlawful]));
  }

  // Mapping goes on after a rejection so that one answer lists every problem; a problem at a path a
  // reject rule already named would only repeat it.
  const withLets = bindAll(mapping.definition.let ?? {}, '/let', scope, env, evaluateTemplate);
  const resources: MappedResource[] = [];
  mapping.definition.resources.forEach((rule, i) => {
    const mapped = mapResource(rule, `/resources/${i}`, withLets, env, kind);
    if (mapped) {
      resources.push(mapped);
    }
  });
  if (rejected.length === 0 && env.problems.length === 0 && resources.length === 0) {
    report(env, '/resources', 'no resource rule applies to this record');
  }
  if (rejected.length > 0 || env.problems.length > 0) {
    const named = new Set(rejected.map((p) => p.path));
    fail(transformFailed([...rejected, ...env.problems.filter((p) => !named.has(p.path))]));
  }
  return { mappingId: mapping.id, mappingVersion: mapping.version, resources };
}

/**
 * The variables every expression sees. %participants wraps the list (`%participants.all`) because a
 * medplum FHIRPath variable holds one value, and FHIRPath cannot index a map by a computed key.
 */
function baseScope(context: MappingContext): Scope {
  const { config } = context;
  return {
    vars: {
      '%ns': toTypedValue(config.ns),
      '%mrnSystem': toTypedValue(config.mrnSystem),
      '%config': toTypedValue(config),
      '%session': context.session ? toTypedValue(context.session) : EMPTY,
      '%participants': toTypedValue({ all: Object.values(context.participants ?? {}) }),
      // Empty when no disclosure gate decided (workbench, golden cases), so mappings can fall back.
      '%consents': context.consents ? toTypedValue({ all: context.consents }) : EMPTY,
      '%purposeOfUse': context.purposeOfUse ? toTypedValue(context.purposeOfUse) : EMPTY,
    },
    paths: {},
  };
}

function mapResource(rule: ResourceRule, at: string, scope: Scope, env: Env, kind: RecordKind): MappedResource | undefined {
  if (rule.when !== undefined && !conditionAt(env, rule.when, scope, `${at}/when`)) {
    return undefined;
  }
  const [system] = evaluateTemplate(rule.key.system, `${at}/key/system`, scope, env);
  const [value] = evaluateTemplate(rule.key.value, `${at}/key/value`, scope, env);
  if (typeof system !== 'string' || typeof value !== 'string') {
    report(env, `${at}/key`, 'the key needs a system and a value');
    return undefined;
  }
  const key = { system, value };
  env.resourceType = rule.template.resourceType as string;
  const keyed: Scope = {
    vars: { ...scope.vars, '%key': toTypedValue(key) },
    paths: scope.paths,
  };
  const [resource] = evaluateTemplate(rule.template, `${at}/template`, keyed, env) as Resource[];
  env.resourceType = undefined;
  if (!resource) {
    return undefined;
  }
  const identifiers = (resource as { identifier?: Identifier[] }).identifier;
  if (!identifiers?.some((id) => id.system === system && id.value === value)) {
    // The sync finds the resource again by this identifier; without it every upsert would create a duplicate.
    report(env, `${at}/template/identifier`, 'the resource must carry its key among its identifiers');
  }
  return {
    resource: tagVersion(resource, env),
    key,
    write: rule.write,
    sourceKind: kind,
    sourceId: (env.record as { id: string }).id,
  };
}

/** Makes the producing mapping visible on the server: meta.tag `<ns>/CodeSystem/mapping-version`. */
function tagVersion(resource: Resource, env: Env): Resource {
  const tag = { system: `${env.ns}/CodeSystem/mapping-version`, code: `${env.mapping.id}@${env.mapping.version}` };
  const { resourceType, meta, ...rest } = resource;
  return { resourceType, meta: { ...meta, tag: [...(meta?.tag ?? []), tag] }, ...rest } as Resource;
}
