/**
 * Import test helpers: NDJSON lines of valid records, and an upload whose body the test writes piece
 * by piece (so it can watch a job while its body is still coming, break it off, or cancel it).
 */
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { records } from '../helpers/fixtures.js';

/** A valid participant line with its own id. */
export function participantLine(id: string, extra: object = {}): string {
  return JSON.stringify({ kind: 'participant', record: { ...records.participant, id, ...extra } });
}

/** n lines p-{prefix}1..n, newline-terminated. */
export function participantLines(prefix: string, n: number, from = 1): string {
  return Array.from({ length: n }, (_, i) => `${participantLine(`p-${prefix}${from + i}`)}\n`).join('');
}

export interface OpenUpload {
  req: ClientRequest;
  /** The response (its head comes at once for a job). */
  response: Promise<IncomingMessage>;
  write(text: string): Promise<void>;
  /** The response body once it ends. */
  text(res: IncomingMessage): Promise<string>;
}

/** Starts POST /api/v1/import with a body the caller writes; chunked transfer, no length. */
export function openUpload(url: string, token: string, headers: Record<string, string> = {}): OpenUpload {
  const req = request(`${url}/api/v1/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', prefer: 'respond-async', ...headers },
  });
  req.on('error', () => {
    // the tests break connections on purpose
  });
  const response = new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
  return {
    req,
    response,
    write: (text) => new Promise((resolve, reject) => req.write(text, (err) => (err ? reject(err) : resolve()))),
    text: (res) =>
      new Promise((resolve) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
        res.on('close', () => resolve(body));
      }),
  };
}
