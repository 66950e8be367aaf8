/**
 * Limits on the shape of parsed JSON bodies, for the API and /fhir alike: nesting deeper than
 * MAX_JSON_DEPTH (a 10,000-deep body made later recursive code overflow the stack) and the keys
 * `__proto__`, `constructor` and `prototype` (no record or FHIR element has them, and code that copies
 * objects by assignment would change prototypes) are refused with 400 before any handler sees the body.
 * The walk is iterative, so it cannot overflow itself.
 */
import type { NextFunction, Request, Response } from 'express';
import { OperationOutcomeError, inputInvalid, type Problem } from '../../outcomes.js';

/** Deepest nesting of objects and arrays accepted (the contract needs under 10, FHIR resources under 30). */
export const MAX_JSON_DEPTH = 64;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_PROBLEMS = 20;

function pointer(parent: string, key: string | number): string {
  return `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/**
 * The shape problems of a parsed JSON value: one for nesting too deep, one per forbidden key (at most
 * 20), each with its JSON Pointer. Never quotes a value.
 */
export function jsonShapeProblems(value: unknown, maxDepth = MAX_JSON_DEPTH): Problem[] {
  const problems: Problem[] = [];
  const stack: { v: unknown; depth: number; at: string }[] = [{ v: value, depth: 1, at: '' }];
  let tooDeep = false;
  while (stack.length > 0 && problems.length < MAX_PROBLEMS) {
    const { v, depth, at } = stack.pop()!;
    if (v === null || typeof v !== 'object') {
      continue;
    }
    if (depth > maxDepth) {
      if (!tooDeep) {
        tooDeep = true;
        // The first few steps say where; the full pointer would be as long as the nesting.
        const where = at.split('/').slice(0, 6).join('/');
        problems.push({ path: `${where}/…`, message: `nests deeper than ${maxDepth} levels of objects and arrays` });
      }
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ v: v[i], depth: depth + 1, at: pointer(at, i) });
      }
      continue;
    }
    for (const key of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(key)) {
        problems.push({ path: pointer(at, key), message: 'is not allowed (a reserved JavaScript name, never a field)' });
        continue;
      }
      stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1, at: pointer(at, key) });
    }
  }
  return problems;
}

/** After a JSON body parser: refuses a body of the wrong shape (400, every problem at once). */
export function checkJsonShape(req: Request, _res: Response, next: NextFunction): void {
  const problems = req.body !== undefined ? jsonShapeProblems(req.body) : [];
  if (problems.length > 0) {
    next(new OperationOutcomeError(inputInvalid(problems)));
    return;
  }
  next();
}
