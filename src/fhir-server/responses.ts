/**
 * Turns medplum's FhirResponse ([outcome, resource?]) into what an HTTP FHIR client expects: the
 * status, versioning headers, absolute fullUrls and links on Bundles, and transaction/batch response
 * entries carrying a versioned location and an etag (the sync reads ids and versions from them).
 */
import { STATUS_CODES } from 'node:http';
import type {
  Bundle,
  BundleEntry,
  BundleEntryResponse,
  BundleLink,
  OperationOutcome,
  Resource,
} from '@medplum/fhirtypes';
import { httpStatusFor } from '../outcomes.js';

/** The HTTP answer to one FHIR request. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Resource;
}

/** Where the request was made: for absolute URLs in the response. */
export interface RequestContext {
  /** The server's base URL, without a trailing slash. */
  base: string;
  /** The request URL relative to the base, with its query string (`/Patient?name=x`). */
  url: string;
}

/**
 * Builds the HTTP answer for a medplum router result.
 * @param outcome - The outcome (decides the status).
 * @param resource - The resource, if any; otherwise the outcome is the body.
 * @param ctx - The request context.
 * @returns Status, headers and body.
 */
export function toHttpAnswer(
  outcome: OperationOutcome,
  resource: Resource | undefined,
  ctx: RequestContext
): HttpAnswer {
  // httpStatusFor = the project's outcomes first (internal-error, too-large...), then medplum's getStatus.
  const status = httpStatusFor(outcome);
  if (!resource) {
    return { status, headers: {}, body: outcome };
  }
  const body = resource.resourceType === 'Bundle' ? decorateBundle(resource, ctx) : resource;
  const headers: Record<string, string> = {};
  const versionId = body.meta?.versionId;
  if (versionId && body.id) {
    headers.ETag = `W/"${versionId}"`;
    if (body.meta?.lastUpdated) {
      headers['Last-Modified'] = new Date(body.meta.lastUpdated).toUTCString();
    }
    if (status === 201) {
      headers.Location = `${ctx.base}/${body.resourceType}/${body.id}/_history/${versionId}`;
    }
  }
  return { status, headers, body };
}

function decorateBundle(bundle: Bundle, ctx: RequestContext): Bundle {
  switch (bundle.type) {
    case 'searchset':
    case 'history':
      return {
        ...bundle,
        link: pageLinks(bundle, ctx),
        entry: bundle.entry?.map((e) => withFullUrl(e, ctx.base)),
      };
    case 'transaction-response':
    case 'batch-response':
      return { ...bundle, entry: bundle.entry?.map((e) => responseEntry(e, ctx.base)) };
    default:
      return bundle;
  }
}

function withFullUrl(entry: BundleEntry, base: string): BundleEntry {
  const r = entry.resource;
  if (r?.id) {
    return { fullUrl: `${base}/${r.resourceType}/${r.id}`, ...entry };
  }
  // A deletion in a history Bundle has no resource; its request.url names it.
  return entry.request?.url ? { fullUrl: `${base}/${entry.request.url}`, ...entry } : entry;
}

/** self, plus next/previous when `_count`/`_offset` paging applies (search only; history is one page). */
function pageLinks(bundle: Bundle, ctx: RequestContext): BundleLink[] {
  const links: BundleLink[] = [{ relation: 'self', url: `${ctx.base}${ctx.url}` }];
  if (bundle.type !== 'searchset' || bundle.total === undefined) {
    return links;
  }
  const q = ctx.url.indexOf('?');
  const path = q < 0 ? ctx.url : ctx.url.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : ctx.url.slice(q + 1));
  const offset = Math.max(Number(params.get('_offset') ?? 0) || 0, 0);
  const shown = bundle.entry?.length ?? 0;
  const count = Number(params.get('_count') ?? '') || shown;
  const page = (o: number): string => {
    params.set('_offset', String(o));
    return `${ctx.base}${path}?${params.toString()}`;
  };
  if (shown > 0 && offset + shown < bundle.total) {
    links.push({ relation: 'next', url: page(offset + shown) });
  }
  if (offset > 0 && count > 0) {
    links.push({ relation: 'previous', url: page(Math.max(offset - count, 0)) });
  }
  return links;
}

/** A transaction/batch response entry with status text, versioned location, etag and lastModified. */
function responseEntry(entry: BundleEntry, base: string): BundleEntry {
  const code = Number(entry.response?.status ?? 0);
  const response: BundleEntryResponse = {
    ...entry.response,
    status: code ? `${code} ${STATUS_CODES[code] ?? ''}`.trim() : (entry.response?.status ?? '500'),
  };
  const r = entry.resource;
  const ok = code >= 200 && code < 300;
  if (ok) {
    delete response.outcome; // medplum attaches allOk to every success; only failures need it
  }
  if (!ok || !r?.id) {
    return { ...entry, response };
  }
  const versionId = r.meta?.versionId;
  response.location = versionId
    ? `${r.resourceType}/${r.id}/_history/${versionId}`
    : `${r.resourceType}/${r.id}`;
  if (versionId) {
    response.etag = `W/"${versionId}"`;
  }
  if (r.meta?.lastUpdated) {
    response.lastModified = r.meta.lastUpdated;
  }
  return { fullUrl: `${base}/${r.resourceType}/${r.id}`, ...entry, response };
}
