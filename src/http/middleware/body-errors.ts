/**
 * What went wrong reading a request, as an OperationOutcome: body-parser's and raw-body's errors
 * (malformed JSON, too large, an undecodable or unsupported Content-Encoding, an unsupported charset,
 * a client that disconnected mid-body, a length that does not match Content-Length) and the router's
 * undecodable path parameters. Every message names the problem and never quotes the input or the
 * library's own message (which does: "Failed to decode param '%ZZ'").
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { badInput, tooLarge, unsupportedMediaType } from '../../outcomes.js';

interface HttpError {
  type?: string;
  status?: number;
  statusCode?: number;
  limit?: number;
  expose?: boolean;
}

const ENCODINGS = ['identity', 'gzip', 'deflate', 'br'];

/**
 * The outcome for an error thrown while reading a request, or undefined when the error is something
 * else (a handler's own failure).
 * @param hadContentEncoding - whether the request declared a Content-Encoding (a 400 without a type
 *   from body-parser is then a body that does not decode).
 */
export function requestReadOutcome(err: unknown, hadContentEncoding: boolean): OperationOutcome | undefined {
  if (err instanceof URIError) {
    return badInput('The request path contains malformed percent-encoding (each % must start a valid UTF-8 escape)');
  }
  const e = (err ?? {}) as HttpError;
  const status = e.status ?? e.statusCode;
  switch (e.type) {
    case 'entity.parse.failed':
      return badInput('The request body is not valid JSON');
    case 'entity.too.large':
      return tooLarge(e.limit !== undefined ? `${e.limit} bytes` : 'this route');
    case 'encoding.unsupported':
      return unsupportedMediaType('This Content-Encoding', ENCODINGS);
    case 'charset.unsupported':
      return unsupportedMediaType('This charset', ['utf-8']);
    case 'request.aborted':
      return badInput('The request body ended before it was complete (the client disconnected)');
    case 'request.size.invalid':
      return badInput('The request body is not as long as its Content-Length says');
    default:
      break;
  }
  if (typeof status === 'number' && status >= 400 && status < 500 && (e.expose || e.type)) {
    if (status === 400 && hadContentEncoding) {
      return badInput('The request body could not be decoded as its Content-Encoding says');
    }
    if (status === 413) {
      return tooLarge('this route');
    }
    if (status === 415) {
      return unsupportedMediaType("This request body's type or encoding", ['application/json', 'application/fhir+json']);
    }
    return badInput('The request could not be read');
  }
  return undefined;
}
