import type { SendOutcome } from '../delivery/types.js';

/**
 * How an OTLP/HTTP answer is classified (opentelemetry-proto, docs/specification.md, "OTLP/HTTP
 * Response"), and where Pharos departs from it on purpose:
 *
 * - 2xx: delivered. A `partial_success` is reported by the caller, never retried (the spec
 *   forbids it: those spans were refused for good).
 * - 429, 502, 503, 504: retry, honouring `Retry-After` — the spec's retryable set.
 * - 408: retry too; the server gave up waiting for our body, the data is fine.
 * - 401, 403, 404 and 3xx: retry, against the spec (which says drop). These mean Pharos is
 *   misconfigured (credentials, org id, URL), not that the data is bad; dropping would lose every
 *   span until an operator notices. The queue and spool bound what waits, and the retry reason
 *   (`http_401`…) shows up in metrics.
 * - 500: retry, against the spec. The OTel collector answers 500 for permanent errors, but Tempo
 *   and proxies in front of backends answer 500 for transient ones too (an ingester restarting),
 *   and dropping accepted spans is the worse mistake: a persistent 500 fills the queue, ingest
 *   backs off with 503, and `pharos_sink_requests_total{reason="http_500"}` shows it.
 * - Every other 4xx and 5xx (400, 413, 415, 501…): rejected. The spec says not to retry them.
 */
export function classifyStatus(
  status: number,
  retryAfter: string | null,
  detail: () => string,
  now: number = Date.now(),
): SendOutcome {
  if (status >= 200 && status < 300) return { status: 'delivered' };
  const reason = `http_${status}`;
  if (RETRYABLE.has(status) || MISCONFIGURED.has(status) || (status >= 300 && status < 400)) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return retryAfterMs === undefined
      ? { status: 'retry', reason }
      : { status: 'retry', reason, retryAfterMs };
  }
  return { status: 'rejected', reason, detail: detail() };
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const MISCONFIGURED = new Set([401, 403, 404]);

/**
 * `Retry-After` as milliseconds from now: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * A date in the past means "now" (0); anything unreadable means the backend gave no hint.
 */
export function parseRetryAfter(
  header: string | null | undefined,
  now: number,
): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Only real HTTP-dates: Date.parse would also take "5" or "2026" as dates.
  if (!/^[A-Za-z]{3},? /.test(value) && !/^[A-Za-z]+day, /.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Why a request that never got an answer failed. An aborted signal is the push deadline (the
 * delivery framework aborts with its own error, not a TimeoutError) or shutdown, where the
 * outcome is not used; everything else is the network (refused, reset, DNS, TLS).
 */
export function failedRequestOutcome(signal: AbortSignal): SendOutcome {
  return { status: 'retry', reason: signal.aborted ? 'timeout' : 'network' };
}

/**
 * Reads at most `maxBytes` of an answer and lets go of the rest, so a backend that answers with
 * megabytes of HTML cannot make us buffer it, and the connection is released either way.
 */
export async function readCapped(response: Response, maxBytes: number): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const result: { done: boolean; value?: unknown } = await reader.read();
      if (result.done) break;
      if (!(result.value instanceof Uint8Array)) continue;
      chunks.push(result.value);
      size += result.value.byteLength;
    }
  } finally {
    if (size >= maxBytes) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

/** A backend's text for a rejection's `detail`: one line, at most `maxChars`. */
export function truncateDetail(text: string, maxChars: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line;
}
