/**
 * Limits: per-credential rate limits (429 + Retry-After), the failed-authentication limit per address
 * (issue #10: "500 wrong-token requests in a second, all 401, no lockout"), security headers, the
 * handler timeout (503) and the server's header timeout.
 */
import { connect } from 'node:net';
import express from 'express';
import request from 'supertest';
import { createApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/tmp.js';
import { startSecuredService } from './helpers.js';

describe('limits on the real service', () => {
  test('per credential: past RATE_LIMIT_PER_MINUTE a 429 OperationOutcome with Retry-After; other credentials unaffected', async () => {
    const s = await startSecuredService({ RATE_LIMIT_PER_MINUTE: '5' });
    try {
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 7; i++) {
        last = await s.call('operator', 'GET', '/api/v1/sync/status');
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(last!.headers.get('ratelimit')).toMatch(/limit=5/);
      expect(last!.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
      expect((await s.call('source', 'GET', '/api/v1/sessions/none')).status).toBe(404);
      // Public routes are not counted against anyone.
      expect((await s.call('operator', 'GET', '/healthz')).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  test('failed authentication per address: 500 wrong tokens in a burst, and past the limit every request from the address gets 429', async () => {
    const s = await startSecuredService({ AUTH_FAILURE_LIMIT: '20', AUTH_FAILURE_WINDOW_MS: '60000' });
    try {
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, i) => s.call(`token:wrong-token-${i}-0123456789`, 'GET', '/api/v1/sync/status'))
      );
      const count = (st: number): number => results.filter((r) => r.status === st).length;
      expect(count(401) + count(429)).toBe(500);
      expect(count(401)).toBeGreaterThanOrEqual(20);
      expect(count(401)).toBeLessThan(100); // a few in flight when the limit is reached
      const locked = await s.call('operator', 'GET', '/api/v1/sync/status');
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(locked.body.issue[0].details.text).toMatch(/Too many failed authentications from this address/);
      expect((await s.call('anonymous', 'GET', '/healthz')).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  test('successful requests never count toward the address limit', async () => {
    const s = await startSecuredService({ AUTH_FAILURE_LIMIT: '3' });
    try {
      const ok = await Promise.all(Array.from({ length: 50 }, () => s.call('operator', 'GET', '/api/v1/sync/status')));
      expect(ok.every((r) => r.status === 200)).toBe(true);
    } finally {
      await s.close();
    }
  });

  test('security headers: CSP default-src \'self\' (a console can load its own scripts and styles), no sniffing, no framing', async () => {
    const s = await startSecuredService();
    try {
      for (const path of ['/healthz', '/api/v1/sync/status', '/fhir/metadata', '/console/']) {
        const r = await s.call('operator', 'GET', path);
        const csp = r.headers.get('content-security-policy') ?? '';
        expect(csp).toContain("default-src 'self'");
        expect(csp).toContain("script-src 'self'");
        expect(csp).toContain("style-src 'self'");
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).not.toContain('upgrade-insecure-requests');
        expect(r.headers.get('x-content-type-options')).toBe('nosniff');
        expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
        expect(r.headers.get('referrer-policy')).toBe('no-referrer');
        expect(r.headers.get('x-powered-by')).toBeNull();
      }
    } finally {
      await s.close();
    }
  });

  test('a client that sends its headers too slowly is cut off (HTTP_HEADERS_TIMEOUT_MS), with no whole-request deadline set', async () => {
    // HTTP_REQUEST_TIMEOUT_MS stays at its default 0 (import jobs upload for as long as they take).
    const s = await startSecuredService({ HTTP_HEADERS_TIMEOUT_MS: '1000' });
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const sock = connect(Number(new URL(s.svc.url).port), '127.0.0.1', () => sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
        let text = '';
        sock.on('data', (c: Buffer) => (text += c.toString()));
        sock.on('close', () => resolve(text));
        sock.on('error', reject);
        setTimeout(() => reject(new Error('not cut off')), 20_000).unref();
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await s.close();
    }
  });
});

describe('the handler timeout', () => {
  test('a handler that has not answered in time: 503 with Retry-After; its late answer is dropped', async () => {
    const tmp = tempDir();
    const store = new SqliteStore(`${tmp.dir}/s.sqlite`);
    let release = (): void => {};
    const slow = express.Router();
    slow.get('/sync/status', async (_req, res) => {
      await new Promise<void>((r) => (release = r));
      res.json({ late: true });
    });
    const app = createApp({
      logger: createLogger('error'),
      apiTokens: ['admin-token-0123456789abcdef'],
      intake: { store, targets: ['t'] },
      store,
      bodyLimitBytes: 1024,
      importLimitBytes: 1024,
      apiRouters: [slow],
      handlerTimeoutMs: 150,
    });
    try {
      const r = await request(app).get('/api/v1/sync/status').set('Authorization', 'Bearer admin-token-0123456789abcdef');
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
      expect(r.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
      release();
      await new Promise((x) => setTimeout(x, 50));
    } finally {
      await store.close();
      tmp.cleanup();
    }
  });
});
