/** Request headers every Faro SDK version sends (or a tracing setup needs), always allowed. */
export const DEFAULT_ALLOWED_HEADERS = [
  'content-type',
  'content-encoding',
  'x-api-key',
  'x-faro-session-id',
  'idempotency-key',
  'traceparent',
  'tracestate',
] as const;

/** Response headers the SDK must be able to read cross-origin (it backs off on Retry-After, rotates on the session status). */
export const EXPOSED_HEADERS = 'Retry-After, X-Faro-Session-Status';

export interface CorsOptions {
  allowedHeaders: readonly string[];
  maxAgeMs: number;
}

/**
 * CORS for the ingest routes, with every header value computed once. CORS is access control
 * here, not decoration: admission has already refused origins outside the app's list.
 */
export function createCorsPolicy({ allowedHeaders, maxAgeMs }: CorsOptions) {
  const allowHeaders = [
    ...new Set([
      ...DEFAULT_ALLOWED_HEADERS,
      ...allowedHeaders.map((header) => header.toLowerCase()),
    ]),
  ].join(', ');
  const maxAge = String(Math.floor(maxAgeMs / 1000));
  return {
    /** Headers of a successful preflight for an allowed origin. */
    preflight(origin: string): Record<string, string> {
      return {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': allowHeaders,
        'access-control-max-age': maxAge,
        vary: 'Origin',
      };
    },
    /** Headers of an answer to an admitted cross-origin request. */
    response(origin: string): Record<string, string> {
      return {
        'access-control-allow-origin': origin,
        'access-control-expose-headers': EXPOSED_HEADERS,
        vary: 'Origin',
      };
    },
  };
}

export type CorsPolicy = ReturnType<typeof createCorsPolicy>;
