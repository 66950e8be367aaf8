/**
 * What a JSON key of a FHIR object is: its element name (the choice base `value` for `valueQuantity`) and
 * its FHIR type, from the R4 definitions @medplum/core holds. Looked up once per (type, key) and cached:
 * the de-identifier asks for every key of every resource.
 */
import { isPrimitiveType, tryGetDataType } from '@medplum/core';

/** A key of a FHIR object, as the definitions know it. */
export interface KeyInfo {
  /** The element name: the key itself, or the choice base (`value` for `valueString`). */
  name: string;
  /** The FHIR type (`HumanName`, `dateTime`, an inner type such as `EncounterParticipant`, or `Resource`). */
  type: string;
  primitive: boolean;
  /** False for keys the definitions do not know (they are removed: nothing vouches for what they hold). */
  known: boolean;
}

const UNKNOWN = (key: string): KeyInfo => ({ name: key, type: '', primitive: false, known: false });
const cache = new Map<string, Map<string, KeyInfo>>();

/**
 * Describes `key` of an object of FHIR type `parentType`.
 * @param parentType - A resource type, data type or inner (backbone) type name.
 * @param key - The JSON key (not `resourceType`, not a `_primitive` sibling).
 */
export function keyInfo(parentType: string, key: string): KeyInfo {
  let byKey = cache.get(parentType);
  if (!byKey) {
    byKey = new Map();
    cache.set(parentType, byKey);
  }
  let info = byKey.get(key);
  if (!info) {
    info = lookup(parentType, key);
    byKey.set(key, info);
  }
  return info;
}

function lookup(parentType: string, key: string): KeyInfo {
  const schema = tryGetDataType(parentType);
  if (!schema) {
    return UNKNOWN(key);
  }
  const direct = schema.elements[key];
  if (direct && direct.type.length > 0) {
    const type = direct.type[0].code;
    return { name: key, type, primitive: isPrimitiveType(type), known: true };
  }
  // A choice element: `value[x]` is written `valueQuantity`, `valueDateTime` ...
  for (const [name, element] of Object.entries(schema.elements)) {
    if (!name.endsWith('[x]')) {
      continue;
    }
    const base = name.slice(0, -3);
    if (!key.startsWith(base) || key.length === base.length) {
      continue;
    }
    const suffix = key.slice(base.length);
    const match = element.type.find((t) => t.code === suffix || t.code === suffix[0].toLowerCase() + suffix.slice(1));
    if (match) {
      return { name: base, type: match.code, primitive: isPrimitiveType(match.code), known: true };
    }
  }
  return UNKNOWN(key);
}

/**
 * The element names of a type (choice elements by their base name), for walking a type's definition
 * (the completeness test) rather than an instance.
 */
export function elementsOf(type: string): { name: string; types: string[]; choice: boolean }[] {
  const schema = tryGetDataType(type);
  if (!schema) {
    return [];
  }
  return Object.entries(schema.elements)
    .filter(([name, e]) => !name.includes('.') && e.max !== 0)
    .map(([name, e]) => ({
      name: name.endsWith('[x]') ? name.slice(0, -3) : name,
      types: e.type.map((t) => t.code),
      choice: name.endsWith('[x]'),
    }));
}

/** The JSON key of element `name` holding a value of `type` (`value` + `Quantity` -> `valueQuantity`). */
export function choiceKey(name: string, type: string): string {
  return `${name}${type[0].toUpperCase()}${type.slice(1)}`;
}
