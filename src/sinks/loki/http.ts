import type { SendOutcome } from '../delivery/types.js';

export const LOKI_PUSH_PATH = '/loki/api/v1/push';

/** The push endpoint: `/loki/api/v1/push` appended to the base URL unless it ends with it already. */
export function lokiPushUrl(base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(`Loki URL ${JSON.stringify(base)} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Loki URL ${JSON.stringify(base)} must use http or https`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith(LOKI_PUSH_PATH) ? path : `${path}${LOKI_PUSH_PATH}`;
  return url.toString();
}

export interface BasicAuth {
  readonly username: string;
  readonly password: string;
}

export interface RequestHeaderOptions {
  readonly contentType: string;
  readonly contentEncoding?: string;
  /** `X-Scope-OrgID`; the header is left out when undefined. */
  readonly orgId?: string;
  readonly basicAuth?: BasicAuth;
  readonly extra?: Readonly<Record<string, string>>;
  readonly userAgent: string;
}

/**
 * The request headers. Extra (configured) headers come first, so they can add `Authorization` or
 * a gateway's own header but can never change the body's content type or encoding, nor the org id.
 */
export function pushHeaders(options: RequestHeaderOptions): Headers {
  const headers = new Headers(options.extra);
  headers.set('content-type', options.contentType);
  if (options.contentEncoding) headers.set('content-encoding', options.contentEncoding);
  else headers.delete('content-encoding');
  if (options.orgId !== undefined) headers.set('x-scope-orgid', options.orgId);
  else headers.delete('x-scope-orgid');
  if (options.basicAuth) {
    const credentials = `${options.basicAuth.username}:${options.basicAuth.password}`;
    headers.set('authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`);
  }
  if (!headers.has('user-agent')) headers.set('user-agent', options.userAgent);
  return headers;
}

/**
 * How a status is handled. Loki answers 204 on success.
 *
 * - 400, 413, 422 and other 4xx about the request's content: refused for good (Loki's "entry too
 *   far behind", "line too long", "stream limit", a body over its size limit). Retrying sends the
 *   same bytes and gets the same answer, so the push is dropped and counted, with Loki's text.
 * - 408, 429 and 5xx: worth retrying, honouring `Retry-After`.
 * - 401, 403, 404, 405, 407, 421 and 3xx: the request reached the wrong place or lacks the right
 *   credentials. That is a misconfiguration, not bad data: the data is kept and retried, the queue
 *   fills, ingest backs off with 503, and an operator fixing the URL or credentials lets it flow.
 *   Dropping instead would lose everything sent while the configuration was wrong.
 */
const MISCONFIGURATION = new Set([401, 403, 404, 405, 407, 421]);
const REJECTED = new Set([400, 413, 422]);
const RETRY_WITH_CODE = new Set([408, 429, 500, 502, 503, 504]);

/** Reasons are a small fixed set (they become metric labels); the body goes to `detail`. */
export function classifyResponse(
  status: number,
  retryAfter: string | null,
  body: string,
  nowMs: number,
): SendOutcome {
  if (status >= 200 && status < 300) return { status: 'delivered' };
  const retryAfterMs = parseRetryAfter(retryAfter, nowMs);
  const retry = (reason: string): SendOutcome =>
    retryAfterMs === undefined
      ? { status: 'retry', reason }
      : { status: 'retry', reason, retryAfterMs };
  if (RETRY_WITH_CODE.has(status) || MISCONFIGURATION.has(status)) return retry(`http_${status}`);
  if (status >= 500) return retry('http_5xx');
  if (status >= 300 && status < 400) return retry('http_3xx');
  const reason = REJECTED.has(status) ? `http_${status}` : 'http_4xx';
  const detail = body.length > MAX_DETAIL_CHARS ? `${body.slice(0, MAX_DETAIL_CHARS)}…` : body;
  return detail === '' ? { status: 'rejected', reason } : { status: 'rejected', reason, detail };
}

/** `Retry-After` as delta-seconds or an HTTP-date, in milliseconds from now (never negative). */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Every HTTP-date form starts with the day name; Date.parse would also take "-5" as a year.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Bytes of a response body read for `detail`; Loki's messages are short, a proxy's page is not. */
const MAX_BODY_BYTES = 4096;
/** Characters of it kept in `detail`. */
export const MAX_DETAIL_CHARS = 512;

export interface PostResult {
  readonly status: number;
  readonly retryAfter: string | null;
  /** The first bytes of the response body, as text. */
  readonly body: string;
}

/**
 * POSTs with the global fetch (undici: connections are pooled and kept alive per origin). The body
 * is always read (a bounded prefix) or cancelled, so the connection goes back to the pool.
 * Redirects are not followed: a POST redirected to a GET would lose the body.
 */
export async function postPush(
  url: string,
  headers: Headers,
  body: Buffer,
  signal: AbortSignal,
): Promise<PostResult> {
  const response = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
  const text = await readPrefix(response, MAX_BODY_BYTES);
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: text };
}

async function readPrefix(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
    }
    if (length >= maxBytes) await reader.cancel();
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8').trim();
}

/** A failed fetch: the signal's deadline passed, it was aborted, or the network failed. */
export function classifyFetchError(error: unknown, signal: AbortSignal): SendOutcome {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    const timedOut = reason instanceof DOMException && reason.name === 'TimeoutError';
    return { status: 'retry', reason: timedOut ? 'timeout' : 'aborted' };
  }
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return { status: 'retry', reason: 'timeout' };
  }
  return { status: 'retry', reason: 'network' };
}
