/**
 * The $validate operation of the embedded FHIR server, against our profile pack:
 * `POST [base]/$validate` and `POST [base]/[type]/$validate` with a bare resource or a Parameters
 * (`resource`, optional `profile`); `?profile=` works too. The answer is 200 with an OperationOutcome
 * listing every issue and its FHIR path (valid or not: the operation itself succeeded); a body that is
 * not a resource is a 400. See: https://hl7.org/fhir/R4/resource-operation-validate.html
 */
import express, { type Request, type Response } from 'express';
import { badRequest } from '@medplum/core';
import type { OperationOutcome, Parameters, Resource } from '@medplum/fhirtypes';
import { activeProfilePack, validateWithPack } from '../profiles/validate.js';
import { validationOutcome } from '../profiles/validation-outcome.js';

/**
 * The routes of $validate (mount on the FHIR router before its catch-all, after the JSON body parser).
 * @param pack - The profile pack; default the one the service loaded at start.
 */
export function validateOperationRouter(pack = activeProfilePack): express.Router {
  const router = express.Router();
  router.post('/$validate', (req, res) => answer(req, res, undefined, pack));
  router.post('/:type/$validate', (req, res) => answer(req, res, req.params.type, pack));
  return router;
}

function answer(req: Request, res: Response, type: string | undefined, pack: typeof activeProfilePack): void {
  const input = inputOf(req.body, req.query.profile);
  if ('error' in input) {
    return send(res, 400, badRequest(input.error));
  }
  if (type && input.resource.resourceType !== type) {
    return send(res, 400, badRequest(`$validate on ${type} was given a ${input.resource.resourceType}`));
  }
  const { profiles, issues } = validateWithPack(input.resource, pack(), input.profile);
  send(res, 200, validationOutcome(issues, profiles));
}

function inputOf(body: unknown, queryProfile: unknown): { resource: Resource; profile?: string } | { error: string } {
  const b = body as Partial<Resource> | undefined;
  if (!b || typeof b.resourceType !== 'string') {
    return { error: 'The body must be a FHIR resource or a Parameters with a resource parameter (Content-Type: application/fhir+json)' };
  }
  let profile = typeof queryProfile === 'string' ? queryProfile : undefined;
  if (b.resourceType !== 'Parameters') {
    return { resource: b as Resource, ...(profile ? { profile } : {}) };
  }
  const params = (b as Parameters).parameter ?? [];
  const resource = params.find((p) => p.name === 'resource')?.resource;
  const p = params.find((x) => x.name === 'profile');
  profile = p?.valueUri ?? p?.valueCanonical ?? p?.valueString ?? profile;
  if (!resource) {
    return { error: 'The Parameters has no resource parameter' };
  }
  return { resource, ...(profile ? { profile } : {}) };
}

function send(res: Response, status: number, body: OperationOutcome): void {
  res.status(status).setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  res.send(JSON.stringify(body));
}
