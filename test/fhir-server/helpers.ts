/**
 * Test harness for the embedded FHIR server: a real SQLite file in a temp folder, the router mounted at
 * /fhir on a bare express app, served on an ephemeral port for supertest.
 */
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Encounter, Patient } from '@medplum/fhirtypes';
import express from 'express';
import request from 'supertest';
import { createEmbeddedFhirServer, type EmbeddedFhirServer } from '../../src/fhir-server/index.js';

export const FHIR_JSON = 'application/fhir+json';
export const SYS = 'https://collateral.example/ids';

export interface Harness {
  dir: string;
  dbPath: string;
  fhir: EmbeddedFhirServer;
  server: Server;
  http: () => ReturnType<typeof request>;
  warnings: unknown[];
  errors: unknown[];
  /** Stops the server and closes the database; removes the temp folder unless keepFiles. */
  close(keepFiles?: boolean): Promise<void>;
}

/** Creates a temp folder (or reuses `dir`) and starts the server on it. */
export async function startHarness(dir?: string): Promise<Harness> {
  const folder = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-server-'));
  const dbPath = path.join(folder, 'fhir.sqlite');
  const warnings: unknown[] = [];
  const errors: unknown[] = [];
  let port = 0;
  const fhir = createEmbeddedFhirServer({
    dbPath,
    baseUrl: () => `http://127.0.0.1:${port}/fhir`,
    logger: { warn: (m, meta) => warnings.push({ m, meta }), error: (m, meta) => errors.push({ m, meta }) },
  });
  const app = express();
  app.use('/fhir', fhir.router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  return {
    dir: folder,
    dbPath,
    fhir,
    server,
    http: () => request(server),
    warnings,
    errors,
    close: async (keepFiles?: boolean) => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fhir.close();
      if (!keepFiles) {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}

export function patient(mrn: string): Patient {
  return {
    resourceType: 'Patient',
    identifier: [{ system: SYS, value: mrn }],
    name: [{ family: 'Test', given: ['Pat'] }],
  };
}

export function encounter(id: string, patientRef: string): Encounter {
  return {
    resourceType: 'Encounter',
    identifier: [{ system: SYS, value: id }],
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: patientRef },
  };
}

/** Sends `body` as FHIR JSON with `method` to `url` (plus extra headers). */
export function sendJson(
  h: Harness,
  method: 'post' | 'put' | 'patch',
  url: string,
  body: unknown,
  headers: Record<string, string> = {}
): ReturnType<ReturnType<typeof request>['post']> {
  const req = h.http()[method](url).set('Content-Type', FHIR_JSON);
  for (const [name, value] of Object.entries(headers)) {
    req.set(name, value);
  }
  return req.send(JSON.stringify(body));
}
