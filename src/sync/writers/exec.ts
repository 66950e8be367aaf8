/**
 * How a writer's requests reach the target. The per-resource logic (write-one.ts) is written once
 * against this interface; the sequential writer hands it the target itself (one HTTP request each), the
 * batch writer a BatchExecutor that gathers the requests issued together into one batch Bundle.
 */
import type { Bundle, BundleEntry, BundleEntryRequest, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { FhirTarget, JsonPatchOperation, WriteResult } from '../../fhir/port.js';
import { UpstreamError } from '../../fhir/upstream-error.js';

export type Executor = Pick<FhirTarget, 'search' | 'read' | 'create' | 'update' | 'conditionalUpdate' | 'patch'>;

interface Pending {
  request: BundleEntryRequest;
  resource?: Resource;
  resolve: (entry: BundleEntry) => void;
  reject: (err: unknown) => void;
}

/**
 * Collects the requests issued in the same turn of the event loop (the writes of one dependency level
 * run concurrently, and so do the records the worker delivers together) and sends them as batch Bundles
 * of at most `maxEntries` (https://hl7.org/fhir/R4/http.html#transaction): entries succeed or fail one
 * by one, so each caller gets its own answer or its own error. Entries are never conditional here
 * unless the target declares conditional operations.
 */
export class BatchExecutor implements Executor {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Batches sent (tests and logs). */
  batches = 0;

  constructor(
    private readonly target: FhirTarget,
    private readonly maxEntries = Number.POSITIVE_INFINITY
  ) {}

  search(resourceType: string, params: Record<string, string>): Promise<Bundle> {
    return this.enqueue({ method: 'GET', url: `${resourceType}?${new URLSearchParams(params)}` }).then((e) => e.resource as Bundle);
  }

  read(resourceType: string, id: string): Promise<Resource> {
    return this.enqueue({ method: 'GET', url: `${resourceType}/${id}` }).then((e) => e.resource as Resource);
  }

  create(resource: Resource, options?: { ifNoneExist?: string }): Promise<WriteResult> {
    return this.enqueue({ method: 'POST', url: resource.resourceType, ...(options?.ifNoneExist ? { ifNoneExist: options.ifNoneExist } : {}) }, resource).then(toWriteResult);
  }

  update(resource: Resource, options?: { ifMatch?: string }): Promise<WriteResult> {
    return this.enqueue({ method: 'PUT', url: `${resource.resourceType}/${resource.id}`, ...(options?.ifMatch ? { ifMatch: options.ifMatch } : {}) }, resource).then(toWriteResult);
  }

  conditionalUpdate(resource: Resource, query: Record<string, string>): Promise<WriteResult> {
    return this.enqueue({ method: 'PUT', url: `${resource.resourceType}?${new URLSearchParams(query)}` }, resource).then(toWriteResult);
  }

  patch(resourceType: string, id: string, operations: JsonPatchOperation[], options?: { ifMatch?: string }): Promise<WriteResult> {
    // In a Bundle a JSON Patch travels as a Binary (https://hl7.org/fhir/R4/http.html#patch).
    const binary: Resource = {
      resourceType: 'Binary',
      contentType: 'application/json-patch+json',
      data: Buffer.from(JSON.stringify(operations), 'utf8').toString('base64'),
    };
    return this.enqueue({ method: 'PATCH', url: `${resourceType}/${id}`, ...(options?.ifMatch ? { ifMatch: options.ifMatch } : {}) }, binary).then(toWriteResult);
  }

  private enqueue(request: BundleEntryRequest, resource?: Resource): Promise<BundleEntry> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resource, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after every pending microtask: the other writes of the level (whose store
        // lookups resolve as microtasks) have issued their requests by then.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const all = this.queue;
    this.queue = [];
    this.scheduled = false;
    for (let i = 0; i < all.length; i += Math.max(1, this.maxEntries)) {
      await this.send(all.slice(i, i + Math.max(1, this.maxEntries)));
    }
  }

  private async send(items: Pending[]): Promise<void> {
    if (items.length === 0) {
      return;
    }
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: items.map((i) => ({ request: i.request, ...(i.resource ? { resource: i.resource } : {}) })),
    };
    let response: Bundle;
    try {
      this.batches++;
      response = await this.target.batch(bundle);
    } catch (err) {
      // The whole batch failed (429, 5xx, no answer): every entry shares the fate.
      items.forEach((i) => i.reject(err));
      return;
    }
    items.forEach((item, n) => {
      const entry = response.entry?.[n];
      const status = Number.parseInt(entry?.response?.status ?? '', 10);
      if (!entry || !Number.isFinite(status)) {
        item.reject(UpstreamError.answered(502, undefined, undefined));
      } else if (status >= 400) {
        const outcome = (entry.response?.outcome ?? entry.resource) as OperationOutcome | undefined;
        item.reject(UpstreamError.answered(status, outcome?.resourceType === 'OperationOutcome' ? outcome : undefined, undefined));
      } else {
        item.resolve(entry);
      }
    });
  }
}

function toWriteResult(entry: BundleEntry): WriteResult {
  return {
    status: Number.parseInt(entry.response?.status ?? '200', 10),
    ...(entry.resource ? { resource: entry.resource } : {}),
    ...(entry.response?.location ? { location: entry.response.location } : {}),
    ...(entry.response?.etag ? { etag: entry.response.etag } : {}),
  };
}
