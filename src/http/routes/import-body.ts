/**
 * How POST /api/v1/import reads its body: the media types it accepts (415 otherwise, naming them), the
 * Content-Encodings it decodes (as a stream), and the `Prefer: respond-async` switch to a job.
 */
import { pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Request } from 'express';
import { fail, unsupportedMediaType } from '../../outcomes.js';
import type { JobBody } from '../../intake/import-jobs.js';

/** NDJSON by its registered and common names; text/plain and octet-stream for tools that send files as such. */
export const IMPORT_MEDIA_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'text/plain', 'application/octet-stream'] as const;

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * Checks the Content-Type (an NDJSON type, UTF-8) and the Content-Encoding of an import.
 * @throws OperationOutcomeError(unsupportedMediaType): 415, naming what is accepted (the value sent is
 *   not repeated back).
 */
export function checkImportMediaType(req: Request): void {
  const raw = req.headers['content-type'];
  if (!raw) {
    fail(unsupportedMediaType('A request without Content-Type', IMPORT_MEDIA_TYPES));
  }
  const [type, ...params] = raw.split(';').map((p) => p.trim().toLowerCase());
  if (!(IMPORT_MEDIA_TYPES as readonly string[]).includes(type)) {
    fail(unsupportedMediaType("The request's Content-Type", IMPORT_MEDIA_TYPES));
  }
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    fail(unsupportedMediaType('A charset other than utf-8', IMPORT_MEDIA_TYPES.map((t) => `${t}; charset=utf-8`)));
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && !DECODERS[encoding]) {
    fail(unsupportedMediaType("The request's Content-Encoding", ['identity', ...Object.keys(DECODERS)]));
  }
}

/** The body as a stream of decoded bytes; destroying it ends the request too. */
export function importBody(req: Request): JobBody {
  // A client that goes away mid-body must end the reading with an error (the job reports the break),
  // also once the response has been sent: watch the socket itself.
  const socket = req.socket;
  const onClose = (): void => {
    if (!req.readableEnded && !req.destroyed) {
      req.destroy(Object.assign(new Error('the connection closed before the body ended'), { code: 'ECONNRESET' }));
    }
  };
  socket.once('close', onClose);
  req.once('end', () => socket.removeListener('close', onClose));
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder = DECODERS[encoding];
  if (!decoder) {
    return req as unknown as JobBody; // an IncomingMessage: async-iterable, with destroy()
  }
  // pipeline passes a broken request on to the decoder (and a decoding error back to the request).
  const decoded = pipeline(req, decoder(), () => {});
  const body = decoded as unknown as NodeJS.ReadableStream & AsyncIterable<Buffer>;
  return {
    [Symbol.asyncIterator]: () => body[Symbol.asyncIterator](),
    destroy: () => {
      req.destroy();
      (decoded as unknown as { destroy(): void }).destroy();
    },
  };
}

/** True when the client asked for an asynchronous answer (RFC 7240 `Prefer: respond-async`). */
export function prefersAsync(req: Request): boolean {
  return /(^|[,;\s])respond-async\s*(,|;|$)/i.test(String(req.headers.prefer ?? ''));
}
