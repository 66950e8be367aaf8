/**
 * Makes medplum's validation messages say what was expected. medplum reports "Value did not match
 * expected pattern" and slice counts without the pattern; the profile knows it, so the message gets
 * it appended, with the profile's name.
 */
import type { Coding, ElementDefinition, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { LoadedProfile } from './pack.js';

/**
 * Adds the expected value and the profile to an issue's text.
 * @param issue - An issue from medplum's validator.
 * @param profile - The profile validated against.
 * @returns The issue with a fuller `details.text` (the same issue when there is nothing to add).
 */
export function explainIssue(issue: OperationOutcomeIssue, profile: LoadedProfile): OperationOutcomeIssue {
  const text = issue.details?.text ?? '';
  const path = (issue.expression?.[0] ?? '').replace(/\[\d+\]/g, '');
  let extra: string | undefined;
  if (text === 'Value did not match expected pattern') {
    const element = profile.elements.find((e) => e.path === path && !e.sliceName);
    extra = element && describeExpected(element);
  } else if (text.startsWith('Incorrect number of values provided for slice')) {
    const sliceName = /slice '([^']+)'/.exec(text)?.[1];
    const slice = profile.elements.find((e) => e.path === path && e.sliceName === sliceName);
    extra = slice && describeSlice(slice, profile.elements);
  } else if (text === 'Missing required property' || text.startsWith('Invalid number of values')) {
    const element = profile.elements.find((e) => e.path === path && !e.sliceName);
    extra = element?.short;
  }
  const suffix = `${extra ? `: ${extra}` : ''} (${profile.name})`;
  return { ...issue, details: { ...issue.details, text: `${text}${suffix}` } };
}

/** "expected <pattern>" for an element with a pattern or fixed value. */
function describeExpected(element: ElementDefinition): string | undefined {
  const value = patternOf(element);
  return value === undefined ? undefined : `expected ${describe(value)}`;
}

/** What identifies a slice: its own pattern, or the patterns of its discriminating children. */
function describeSlice(slice: ElementDefinition, elements: ElementDefinition[]): string {
  const own = patternOf(slice);
  if (own !== undefined) {
    return `'${slice.sliceName}' is ${describe(own)}`;
  }
  const children = elements
    .filter((e) => e.id?.startsWith(`${slice.id}.`) && patternOf(e) !== undefined)
    .map((e) => `${(e.id ?? '').slice((slice.id ?? '').length + 1)} = ${describe(patternOf(e))}`);
  return `'${slice.sliceName}' has ${children.join(', ') || slice.short || 'its discriminator'}`;
}

function patternOf(element: ElementDefinition): unknown {
  const key = Object.keys(element).find((k) => k.startsWith('pattern') || k.startsWith('fixed'));
  return key ? (element as unknown as Record<string, unknown>)[key] : undefined;
}

/** A pattern in words: codings as system|code, other values as JSON. */
function describe(value: unknown): string {
  const v = value as { coding?: Coding[] } & Coding;
  if (Array.isArray(v?.coding)) {
    return `a CodeableConcept with coding ${v.coding.map(codingText).join(' and ')}`;
  }
  if (typeof v?.system === 'string') {
    return `a Coding ${codingText(v)}`;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function codingText(c: Coding): string {
  return c.code ? `${c.system}|${c.code}` : `from ${c.system}`;
}
