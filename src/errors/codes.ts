/**
 * The closed registry of Pharos error codes. Every error a client or an operator can see is one
 * of these; `docs/errors.md` documents each of them, and a test keeps the two in step.
 *
 * Codes are never renamed or reused: dashboards and client code match on them.
 */
export interface ErrorDefinition {
  readonly code: string;
  /** HTTP status sent with the error; 0 for errors that never reach HTTP (start-up, config). */
  readonly statusCode: number;
  /** One line, for the error table in docs/errors.md. */
  readonly summary: string;
}

function define<const C extends string>(code: C, statusCode: number, summary: string) {
  return { code, statusCode, summary } as const satisfies ErrorDefinition;
}

export const ERRORS = {
  // Routing (cheapest checks, no state touched)
  ROUTE_NOT_FOUND: define('PHAROS_ERR_ROUTE_NOT_FOUND', 404, 'No route matches the path.'),
  METHOD_NOT_ALLOWED: define(
    'PHAROS_ERR_METHOD_NOT_ALLOWED',
    405,
    'The route exists but not for this method; the `Allow` header lists the methods it takes.',
  ),

  HTTP_MALFORMED: define(
    'PHAROS_ERR_HTTP_MALFORMED',
    400,
    'The request is not valid HTTP/1.1 (bad request line or headers, headers too large).',
  ),

  // Admission (before any body byte is read)
  APP_KEY_MISSING: define(
    'PHAROS_ERR_APP_KEY_MISSING',
    401,
    'No app key: use `/collect/<appKey>` or send `x-api-key`.',
  ),
  APP_KEY_INVALID: define(
    'PHAROS_ERR_APP_KEY_INVALID',
    401,
    'The app key is unknown, revoked, or past its rotation grace period.',
  ),
  ORIGIN_NOT_ALLOWED: define(
    'PHAROS_ERR_ORIGIN_NOT_ALLOWED',
    403,
    "The browser `Origin` is not in the app's allowed origins; nothing was ingested.",
  ),
  UNSUPPORTED_MEDIA_TYPE: define(
    'PHAROS_ERR_UNSUPPORTED_MEDIA_TYPE',
    415,
    'The `Content-Type` is not `application/json` (or `text/plain`); on `/v1/traces`, not `application/x-protobuf` or `application/json`; on a source-map upload, not a JSON map or `application/gzip`.',
  ),
  UNSUPPORTED_ENCODING: define(
    'PHAROS_ERR_UNSUPPORTED_ENCODING',
    415,
    'The `Content-Encoding` is not one of identity, gzip or deflate.',
  ),
  BODY_TOO_LARGE: define(
    'PHAROS_ERR_BODY_TOO_LARGE',
    413,
    'The body, after decompression, exceeds `ingest.maxBodyBytes` (a source-map upload: `sourcemaps.maxUploadBytes`, per map and per tarball); reading stopped at the cap.',
  ),
  RATE_LIMITED: define(
    'PHAROS_ERR_RATE_LIMITED',
    429,
    'A request, item or byte rate limit of the global level, the tenant or the app is exhausted; the message names which; retry after `Retry-After` seconds (computed from the bucket).',
  ),
  OVERLOADED: define(
    'PHAROS_ERR_OVERLOADED',
    503,
    'Pharos cannot safely take more right now: its event-loop delay is over `shedding.maxEventLoopDelay`, or a sink queue and its spool are full; retry after `Retry-After` seconds.',
  ),
  IDEMPOTENCY_IN_PROGRESS: define(
    'PHAROS_ERR_IDEMPOTENCY_IN_PROGRESS',
    503,
    'A request with the same `Idempotency-Key` for this app is still being ingested; retry after `Retry-After` seconds (the Faro SDK does, and its retry is answered 202 without ingesting the batch twice).',
  ),
  SHUTTING_DOWN: define(
    'PHAROS_ERR_SHUTTING_DOWN',
    503,
    'This replica is shutting down; retry after `Retry-After` seconds (another replica will answer).',
  ),

  // Decode (the body)
  BODY_EMPTY: define('PHAROS_ERR_BODY_EMPTY', 400, 'The request has no body.'),
  BODY_INCOMPLETE: define(
    'PHAROS_ERR_BODY_INCOMPLETE',
    400,
    'The body ended before `Content-Length` bytes arrived, or the client aborted the upload.',
  ),
  BODY_TIMEOUT: define(
    'PHAROS_ERR_BODY_TIMEOUT',
    408,
    'The body did not arrive within `ingest.bodyTimeout` (slow or stalled client).',
  ),
  BODY_DECOMPRESSION_FAILED: define(
    'PHAROS_ERR_BODY_DECOMPRESSION_FAILED',
    400,
    'The body is not valid gzip or deflate data for its `Content-Encoding`.',
  ),
  BODY_INVALID_UTF8: define('PHAROS_ERR_BODY_INVALID_UTF8', 400, 'The body is not valid UTF-8.'),
  JSON_INVALID: define('PHAROS_ERR_JSON_INVALID', 400, 'The body is not valid JSON.'),
  JSON_TOO_DEEP: define(
    'PHAROS_ERR_JSON_TOO_DEEP',
    400,
    'The JSON nests objects and arrays deeper than `ingest.maxJsonDepth`.',
  ),
  JSON_FORBIDDEN_KEY: define(
    'PHAROS_ERR_JSON_FORBIDDEN_KEY',
    400,
    'The JSON contains a `__proto__` or `constructor.prototype` key (prototype pollution attempt).',
  ),
  PAYLOAD_INVALID: define(
    'PHAROS_ERR_PAYLOAD_INVALID',
    400,
    'The JSON does not match the Faro payload model (on `/v1/traces`: the body is not a valid OTLP ExportTraceServiceRequest); the message names the field path and the reason.',
  ),
  PAYLOAD_TOO_MANY_ITEMS: define(
    'PHAROS_ERR_PAYLOAD_TOO_MANY_ITEMS',
    413,
    'The payload carries more items (logs, exceptions, measurements, events, spans) than `ingest.maxItemsPerRequest`.',
  ),

  SOURCEMAP_INVALID: define(
    'PHAROS_ERR_SOURCEMAP_INVALID',
    400,
    'An uploaded source map is not valid JSON, not version 3, lacks `mappings`, `sources` or a `file` name, or the tarball is not a valid tar archive or holds no `.map` file.',
  ),

  // Internal listener: admin and read API
  UNAUTHORIZED: define(
    'PHAROS_ERR_UNAUTHORIZED',
    401,
    'The admin API needs `Authorization: Bearer <token>` with a valid token.',
  ),
  FORBIDDEN: define(
    'PHAROS_ERR_FORBIDDEN',
    403,
    'The token is valid but lacks the scope for this.',
  ),
  NOT_FOUND: define('PHAROS_ERR_NOT_FOUND', 404, 'The tenant, app or key named does not exist.'),
  CONFLICT: define(
    'PHAROS_ERR_CONFLICT',
    409,
    'The change conflicts with existing state (duplicate id, or an object managed by the config file).',
  ),
  INVALID_REQUEST: define(
    'PHAROS_ERR_INVALID_REQUEST',
    400,
    'A parameter or JSON body of an admin/read API call is invalid; the message names it.',
  ),
  INTERNAL: define(
    'PHAROS_ERR_INTERNAL',
    500,
    'An unexpected failure inside Pharos; it is logged with the request id.',
  ),

  // Start-up (no HTTP status)
  CONFIG_INVALID: define(
    'PHAROS_ERR_CONFIG_INVALID',
    0,
    'A configuration value (file, `PHAROS_*` variable or flag) is invalid; the message names the key.',
  ),
  CONFIG_FILE_UNREADABLE: define(
    'PHAROS_ERR_CONFIG_FILE_UNREADABLE',
    0,
    'The configuration file cannot be read or is not valid YAML.',
  ),
  LISTEN_FAILED: define(
    'PHAROS_ERR_LISTEN_FAILED',
    0,
    'A listener could not bind its address (in use, or not permitted).',
  ),
} as const;

export type ErrorName = keyof typeof ERRORS;
export type ErrorCode = (typeof ERRORS)[ErrorName]['code'];
