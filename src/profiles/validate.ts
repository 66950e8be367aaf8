/**
 * Validation of every outbound resource before it leaves, against the profile it declares in
 * meta.profile (profiles/). The sync calls validateOutbound; the workbench (CLI map/validate, $map,
 * $validate) calls validateAgainstProfile to show issues without throwing.
 */
import { evalFhirPathTyped, toTypedValue, validateResource, validateTypedValue } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { OperationOutcomeError, outputInvalid } from '../outcomes.js';
import { explainIssue } from './explain.js';
import { loadProfiles, type LoadedProfile, type ProfilePack } from './pack.js';

let active: ProfilePack | undefined;

/**
 * Makes a loaded pack the one validateOutbound uses (the service does this at start-up with its
 * identifier namespace). Without it, the pack is loaded on first use with the default namespace.
 */
export function useProfilePack(pack: ProfilePack): void {
  active = pack;
}

/** The pack validateOutbound uses. */
export function activeProfilePack(): ProfilePack {
  active ??= loadProfiles();
  return active;
}

/**
 * Throws OperationOutcomeError(outputInvalid) with every error (and its FHIR path) when the resource
 * does not declare one of our profiles in meta.profile or fails it. Warnings do not stop it.
 */
export function validateOutbound(resource: Resource): void {
  const issues = validateDeclared(resource, activeProfilePack());
  if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
    throw new OperationOutcomeError(outputInvalid(issues));
  }
}

/**
 * Every issue of a resource against the pack profile its meta.profile names. A resource naming no
 * profile of the pack is an error: every outbound resource must declare its profile.
 * @returns The issues (errors and warnings); none when valid.
 */
export function validateDeclared(resource: Resource, pack: ProfilePack): OperationOutcomeIssue[] {
  const declared = resource.meta?.profile ?? [];
  const profiles = declared.map((url) => pack.get(url)).filter((p): p is LoadedProfile => p !== undefined);
  if (profiles.length === 0) {
    const known = pack.profiles.filter((p) => p.type === resource.resourceType).map((p) => p.url);
    return [
      ...baseIssues(resource),
      {
        severity: 'error',
        code: 'structure',
        details: {
          text:
            declared.length === 0
              ? `${resource.resourceType} declares no profile: meta.profile must name one of ${known.join(', ') || 'the pack profiles'}`
              : `${resource.resourceType} declares ${declared.join(', ')}, none of them in the profile pack (expected ${known.join(', ') || 'a pack profile'})`,
        },
        expression: [`${resource.resourceType}.meta.profile`],
      },
    ];
  }
  return dedupe(profiles.flatMap((p) => validateAgainstProfile(resource, p)));
}

/**
 * Every issue of a resource against one profile: medplum's validation of the profile (structure,
 * cardinality, fixed and pattern values, slices, invariants), plus each of the profile's root
 * invariants medplum did not report (it stops at the first that fails), each message saying what was
 * expected. Never throws for an invalid resource.
 */
export function validateAgainstProfile(resource: Resource, profile: LoadedProfile): OperationOutcomeIssue[] {
  if (resource.resourceType !== profile.type) {
    return [
      {
        severity: 'error',
        code: 'structure',
        details: { text: `${profile.name} constrains ${profile.type}, not ${resource.resourceType}` },
        expression: [resource.resourceType ?? 'resourceType'],
      },
    ];
  }
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateTypedValue({ type: profile.typeName, value: resource });
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) {
      throw err;
    }
    issues = err.outcome.issue ?? [];
  }
  const reported = new Set(issues.map((i) => /^Constraint (\S+) not met/.exec(i.details?.text ?? '')?.[1]).filter(Boolean));
  for (const c of profile.rootConstraints) {
    if (!reported.has(c.key) && !holds(c.atom, resource)) {
      issues.push({
        severity: 'error',
        code: 'invariant',
        details: { text: `Constraint ${c.key} not met: ${c.human}` },
        expression: [profile.type],
        diagnostics: JSON.stringify({ fhirpath: c.expression }),
      });
    }
  }
  return dedupe(issues).map((i) => explainIssue(i, profile));
}

/**
 * The workbench's validation ($validate, CLI validate): against the given profile URL, else the pack
 * profiles the resource declares, else base FHIR R4 with a warning saying no profile was applied.
 * @returns The profile URLs applied and every issue.
 */
export function validateWithPack(resource: Resource, pack: ProfilePack, profileUrl?: string): { profiles: string[]; issues: OperationOutcomeIssue[] } {
  if (profileUrl) {
    const profile = pack.get(profileUrl);
    if (!profile) {
      const known = pack.profiles.map((p) => p.url).join(', ');
      return {
        profiles: [],
        issues: [{ severity: 'error', code: 'not-supported', details: { text: `No profile ${profileUrl} in the pack (known: ${known})` }, expression: ['profile'] }],
      };
    }
    return { profiles: [profile.url], issues: validateAgainstProfile(resource, profile) };
  }
  const declared = (resource.meta?.profile ?? []).filter((url) => pack.get(url));
  if (declared.length > 0) {
    return { profiles: declared.map((url) => pack.get(url)?.url ?? url), issues: validateDeclared(resource, pack) };
  }
  return {
    profiles: [],
    issues: [
      ...baseIssues(resource),
      {
        severity: 'warning',
        code: 'informational',
        details: { text: `${resource.resourceType} declares no profile of the pack in meta.profile: validated against FHIR R4 only` },
        expression: [`${resource.resourceType}.meta.profile`],
      },
    ],
  };
}

/** Base R4 validation only (for a resource that names no profile of ours). */
export function baseIssues(resource: Resource): OperationOutcomeIssue[] {
  try {
    return validateResource(resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return err.outcome.issue ?? [];
    }
    throw err;
  }
}

function holds(atom: Parameters<typeof evalFhirPathTyped>[0], resource: Resource): boolean {
  const root = toTypedValue(resource);
  try {
    const result = evalFhirPathTyped(atom, [root], { '%resource': root, '%rootResource': root, '%context': root });
    return result.length === 1 && result[0].value === true;
  } catch {
    return false;
  }
}

/** One issue per path and text: a profile's datatype constraints can be checked twice (element and type). */
function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.severity}|${i.expression?.join(',')}|${i.details?.text}`;
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}
