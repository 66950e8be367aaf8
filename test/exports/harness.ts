/**
 * The export routes and job manager on their own, over a real embedded FHIR store (SQLite, written by the
 * embedded server's repository) and real HTTP, with two seams the full service cannot offer yet: the
 * principal comes from a test header (named credentials with roles arrive with issue #10), and the
 * source can be held at a gate so a job is caught in progress.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import express from 'express';
import type { Resource } from '@medplum/fhirtypes';
import { EmbeddedStoreSource, type ResourceSource, type StreamOptions } from '../../src/analytics/source.js';
import type { Principal } from '../../src/auth/principal.js';
import { loadDeidPolicy } from '../../src/deid/index.js';
import { bulkRunner } from '../../src/exports/bulk-export.js';
import { exportRoutes } from '../../src/exports/http.js';
import { JobStore } from '../../src/exports/job-store.js';
import { JobManager } from '../../src/exports/jobs.js';
import type { OnIdentifiedAccess } from '../../src/exports/index.js';
import { viewRunner, type ViewExportDeps } from '../../src/exports/view-export.js';
import { createEmbeddedFhirServer } from '../../src/fhir-server/index.js';
import { errorHandler } from '../../src/http/error-handler.js';
import { createLogger } from '../../src/logger.js';
import { KEY } from '../deid/helpers.js';

/** Holds a stream after its first resource until released. */
export class Gate implements ResourceSource {
  private release!: () => void;
  private readonly opened = new Promise<void>((r) => (this.release = r));
  /** Resolves when a stream is waiting at the gate. */
  readonly reached: Promise<void>;
  private reach!: () => void;
  yielded = 0;

  constructor(private readonly inner: ResourceSource) {
    this.reached = new Promise<void>((r) => (this.reach = r));
  }

  open(): void {
    this.release();
  }

  read(type: string, id: string): Promise<Resource | undefined> {
    return this.inner.read(type, id);
  }

  async *stream(opts: StreamOptions): AsyncIterable<Resource> {
    for await (const r of this.inner.stream(opts)) {
      yield r;
      this.yielded++;
      if (this.yielded === 1) {
        this.reach();
        await this.opened;
      }
    }
  }
}

export interface Harness {
  url: string;
  dataDir: string;
  manager: JobManager;
  gate?: Gate;
  /** A request as a principal (default: an analyst named alice). */
  api(method: string, path: string, principal?: Principal, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  close(): Promise<void>;
}

export const ALICE: Principal = { name: 'alice', roles: ['analyst'] };
export const BOB: Principal = { name: 'bob', roles: ['analyst'] };
export const OFFICER: Principal = { name: 'olga', roles: ['privacy-officer'] };
export const ADMIN: Principal = { name: 'root', roles: ['admin'] };
export const SOURCE: Principal = { name: 'ehr-feed', roles: ['source'] };

/** Writes resources into a fresh embedded FHIR store in `dataDir` with the embedded server's own repository. */
export async function seedStore(dataDir: string, resources: Resource[]): Promise<void> {
  const server = createEmbeddedFhirServer({ dbPath: join(dataDir, 'fhir.sqlite'), baseUrl: () => 'http://localhost/fhir' });
  try {
    for (const r of resources) {
      await server.repo.createResource(r, { assignedId: true });
    }
  } finally {
    server.close();
  }
}

/** Starts the routes and a manager over `dataDir`'s store (seed it first). */
export async function startHarness(
  dataDir: string,
  o: { gated?: boolean; now?: () => Date; maxQueued?: number; views?: ViewExportDeps; onIdentifiedAccess?: OnIdentifiedAccess } = {}
): Promise<Harness> {
  const embedded = new EmbeddedStoreSource(join(dataDir, 'fhir.sqlite'));
  const gate = o.gated ? new Gate(embedded) : undefined;
  const source = gate ?? embedded;
  const policy = loadDeidPolicy();
  const logger = createLogger('error', new PassThrough());
  const manager = new JobManager({
    store: new JobStore(join(dataDir, 'exports')),
    runners: {
      bulk: bulkRunner({ source, policy, deidKey: KEY }),
      ...(o.views ? { view: viewRunner({ source, policy, deidKey: KEY, views: o.views }) } : {}),
    },
    retentionMs: 24 * 3_600_000,
    logger,
    now: o.now,
    maxQueued: o.maxQueued,
  });
  manager.start();
  let base = '';
  const app = express();
  app.use((req, res, next) => {
    const header = req.header('x-test-principal');
    res.locals.principal = header ? (JSON.parse(header) as Principal) : ALICE;
    next();
  });
  app.use('/fhir', exportRoutes({ manager, reader: embedded, baseUrl: () => `${base}/fhir`, views: o.views, onIdentifiedAccess: o.onIdentifiedAccess }));
  app.use(errorHandler(logger));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    dataDir,
    manager,
    gate,
    async api(method, path, principal = ALICE, body, headers = {}) {
      const res = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
        method,
        redirect: 'manual',
        headers: {
          'x-test-principal': JSON.stringify(principal),
          ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async close() {
      gate?.open();
      await manager.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      embedded.close();
    },
  };
}

/** A few resources of two clients. */
export function sampleResources(): Resource[] {
  const out: Resource[] = [];
  for (const [i, family] of ['Ashgrove', 'Birchwell'].entries()) {
    out.push({ resourceType: 'Patient', id: `pat-${i}`, name: [{ family, given: ['Test'] }], birthDate: '2012-05-06', gender: 'female' } as Resource);
    for (let k = 0; k < 3; k++) {
      out.push({
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/pat-${i}` },
        period: { start: `2026-02-0${k + 1}T16:00:00-05:00`, end: `2026-02-0${k + 1}T16:50:00-05:00` },
      } as Resource);
    }
  }
  return out;
}
