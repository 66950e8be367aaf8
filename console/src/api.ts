/**
 * Calls to the service's API with the signed-in bearer token. Every error answer is a FHIR
 * OperationOutcome; ApiError carries it and a readable message.
 */
import { forgetToken, storedToken } from './session';

export interface Issue {
  severity?: string;
  code?: string;
  details?: { text?: string };
  diagnostics?: string;
  expression?: string[];
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  id?: string;
  issue: Issue[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly outcome?: OperationOutcome
  ) {
    super(outcome?.issue?.map((i) => (i.expression?.[0] ? `${i.expression[0]}: ` : '') + (i.details?.text ?? i.code ?? '')).join('; ') || `HTTP ${status}`);
  }
}

export interface CallOptions {
  method?: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** JSON-encoded unless a string. */
  body?: unknown;
  contentType?: string;
  token?: string;
}

/** Called when the token stops working, so the app signs out. */
let onUnauthenticated: () => void = () => {};
export function whenUnauthenticated(f: () => void): void {
  onUnauthenticated = f;
}

export async function call<T>(path: string, o: CallOptions = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(o.query ?? {})) {
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  const token = o.token ?? storedToken();
  const headers: Record<string, string> = { accept: 'application/json', ...(o.headers ?? {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (o.body !== undefined) {
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    headers['content-type'] = o.contentType ?? 'application/json';
  }
  const res = await fetch(url, { method: o.method ?? 'GET', headers, body, cache: 'no-store' });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    if (res.status === 401 && o.token === undefined) {
      forgetToken();
      onUnauthenticated();
    }
    const outcome = (parsed as OperationOutcome | undefined)?.resourceType === 'OperationOutcome' ? (parsed as OperationOutcome) : undefined;
    throw new ApiError(res.status, outcome);
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export async function get<T>(path: string, o: CallOptions = {}): Promise<T> {
  return (await call<T>(path, o)).body;
}

export async function post<T>(path: string, body?: unknown, o: CallOptions = {}): Promise<T> {
  return (await call<T>(path, { ...o, method: 'POST', body })).body;
}

/** `/api/v1/...` */
export const v1 = (p: string): string => `/api/v1${p}`;
