/**
 * `collateral-fhir validate <file|->`: validates FHIR JSON (a resource, or every resource of a Bundle)
 * against the profile pack: the profile given, else the ones each resource declares in meta.profile,
 * else base FHIR R4 (with a warning). Exit 1 when any resource has an error.
 */
import { parseArgs } from 'node:util';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadProfiles } from '../profiles/pack.js';
import { validateWithPack } from '../profiles/validate.js';
import { serviceConfig } from './cli-config.js';
import type { CommandIo } from './io.js';

export const VALIDATE_USAGE = `  validate <file|->  validate FHIR JSON (a resource or a Bundle's resources) against the profile pack
          --profile URL      validate against this profile (default: each resource's meta.profile)
          --text             one line per issue instead of JSON`;

interface ResourceResult {
  entry?: number;
  resourceType: string;
  id?: string;
  profiles: string[];
  valid: boolean;
  issues: OperationOutcomeIssue[];
}

export async function validateCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { profile: { type: 'string' }, text: { type: 'boolean' } },
  });
  if (!positionals[0]) {
    io.err(`validate needs a file (or - for standard input)\n\n${VALIDATE_USAGE}`);
    return 2;
  }
  let value: unknown;
  try {
    value = JSON.parse(await io.read(positionals[0]));
  } catch (err) {
    io.err(`not FHIR JSON: ${err instanceof Error ? err.message.replace(/ in JSON at.*$/, '') : String(err)}`);
    return 1;
  }
  if (typeof (value as Resource | null)?.resourceType !== 'string') {
    io.err('not a FHIR resource: the JSON has no resourceType');
    return 1;
  }
  const pack = loadProfiles({ ns: serviceConfig(io.env).identifierNamespace });
  const targets = resourcesOf(value as Resource);
  const results: ResourceResult[] = targets.map(({ entry, resource }) => {
    const { profiles, issues } = validateWithPack(resource, pack, values.profile);
    return {
      ...(entry !== undefined ? { entry } : {}),
      resourceType: resource.resourceType,
      ...(resource.id ? { id: resource.id } : {}),
      profiles,
      valid: !issues.some((i) => i.severity === 'error' || i.severity === 'fatal'),
      issues,
    };
  });
  const invalid = results.filter((r) => !r.valid).length;
  if (values.text) {
    for (const r of results) {
      io.out(`${r.entry !== undefined ? `entry ${r.entry} ` : ''}${r.resourceType}${r.id ? `/${r.id}` : ''}: ${r.valid ? 'valid' : 'INVALID'} [${r.profiles.join(', ') || 'FHIR R4'}]`);
      r.issues.forEach((i) => io.out(`  ${i.severity} ${i.expression?.[0] ?? ''}: ${i.details?.text ?? i.code}`));
    }
    io.out(`${results.length} resources: ${results.length - invalid} valid, ${invalid} invalid`);
  } else {
    io.out(JSON.stringify({ resources: results.length, valid: results.length - invalid, invalid, results }, null, 2));
  }
  return invalid > 0 ? 1 : 0;
}

/** The resource itself, or each entry resource of a Bundle (a Bundle is a container here, not the subject). */
function resourcesOf(resource: Resource): { entry?: number; resource: Resource }[] {
  if (resource.resourceType !== 'Bundle') {
    return [{ resource }];
  }
  return ((resource as Bundle).entry ?? []).flatMap((e, i) => (e.resource ? [{ entry: i, resource: e.resource }] : []));
}
