import { Type, type Static, type StaticDecode, type TSchema } from '@sinclair/typebox';
import { PrivacySettingsSchema, TenantPrivacySchema } from '../enrich/privacy/config.js';
import { parseListenAddress, type ListenAddress } from '../lib/address.js';
import { parseByteSize, parseDuration } from '../lib/units.js';
import { parseRoutePatterns } from '../sinks/metrics/route-patterns.js';

/**
 * The one configuration schema. The YAML file, `PHAROS_*` variables and CLI flags are all
 * checked against it (flags win over variables, variables over the file). Leaves carry:
 * - `description`, `default`: rendered into docs/config.md;
 * - `flag`: the `pharos start` option that sets it, when there is one.
 * The environment variable of a leaf is derived from its path (see `envName`).
 */

function bytes(defaultValue: string, description: string, extra: { flag?: string } = {}) {
  return Type.Transform(
    Type.Union([Type.String(), Type.Integer({ minimum: 0 })], {
      default: defaultValue,
      description,
      'x-kind': 'bytes',
      ...extra,
    }),
  )
    .Decode((value) => {
      const parsed = parseByteSize(value);
      if (parsed === undefined)
        throw new Error(`expected a byte size such as "5MiB" (got ${JSON.stringify(value)})`);
      return parsed;
    })
    .Encode((value) => value);
}

function duration(defaultValue: string, description: string, extra: { flag?: string } = {}) {
  return Type.Transform(
    Type.Union([Type.String(), Type.Number({ minimum: 0 })], {
      default: defaultValue,
      description,
      'x-kind': 'duration',
      ...extra,
    }),
  )
    .Decode((value) => {
      const parsed = parseDuration(value);
      if (parsed === undefined)
        throw new Error(`expected a duration such as "30s" (got ${JSON.stringify(value)})`);
      return parsed;
    })
    .Encode((value) => value);
}

function address(defaultValue: string, description: string, flag: string) {
  return Type.Transform(
    Type.String({ default: defaultValue, description, flag, 'x-kind': 'address' }),
  )
    .Decode((value): ListenAddress => {
      const parsed = parseListenAddress(value);
      if (!parsed)
        throw new Error(
          `expected host:port such as "127.0.0.1:12347" (got ${JSON.stringify(value)})`,
        );
      return parsed;
    })
    .Encode((value) => `${value.host}:${value.port}`);
}

const KEY_PATTERN = '^[A-Za-z0-9_.-]{8,128}$';
const ID_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$';

const RateLimitSchema = Type.Object(
  {
    perSecond: Type.Number({ exclusiveMinimum: 0, description: 'Sustained rate.' }),
    burst: Type.Integer({ minimum: 1, description: 'Most taken at once after a quiet period.' }),
  },
  { additionalProperties: false },
);

/** Token-bucket limits of one level (global, a tenant, an app). Absent fields: no limit there. */
export const LimitsSchema = Type.Object(
  {
    requests: Type.Optional(RateLimitSchema),
    items: Type.Optional(RateLimitSchema),
    bytes: Type.Optional(RateLimitSchema),
    kinds: Type.Optional(
      Type.Object(
        {
          log: Type.Optional(RateLimitSchema),
          exception: Type.Optional(RateLimitSchema),
          measurement: Type.Optional(RateLimitSchema),
          event: Type.Optional(RateLimitSchema),
          span: Type.Optional(RateLimitSchema),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** One level of the `limits` block: documented and set (from a variable: as JSON) as a whole. */
function limitsLevel(defaultValue: Static<typeof LimitsSchema>, description: string) {
  return Type.Object(LimitsSchema.properties, {
    default: defaultValue,
    description,
    additionalProperties: false,
    'x-kind': 'limits',
  });
}

const DeclaredApp = Type.Object(
  {
    id: Type.String({
      pattern: ID_PATTERN,
      description: 'Unique app id (lower-case, digits, dashes).',
    }),
    name: Type.Optional(
      Type.String({ minLength: 1, description: 'Display name (default: the id).' }),
    ),
    allowedOrigins: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Browser origins allowed to send for this app (`https://shop.example.com`, `https://*.example.com`, `*`). Empty: any origin.',
    }),
    keys: Type.Array(Type.String({ pattern: KEY_PATTERN }), {
      minItems: 1,
      description: 'App keys accepted for this app (8–128 of `A-Z a-z 0-9 _ . -`).',
    }),
    environments: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    samplingRate: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'Share of sessions kept (0..1).' }),
    ),
    tracePropagationUrls: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    ignoreUrls: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    limits: Type.Optional(LimitsSchema),
  },
  { additionalProperties: false },
);

/** `sinks.metrics.routes`: checked with the sink's own parser, so a bad pattern names itself at load. */
function routePatterns() {
  return Type.Transform(
    Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Route patterns tried in order, first match wins, before automatic templating of page paths: `:name` matches one segment (`/products/:id`), a final `*` one or more (`/docs/*`), other segments match themselves. The `route` label is the pattern. Then numeric, UUID, hash and id-like segments become `:id`.',
    }),
  )
    .Decode((patterns) => {
      parseRoutePatterns(patterns);
      return patterns;
    })
    .Encode((patterns) => patterns);
}

const HTTP_URL_PATTERN = '^(https?://\\S+)?$';
const LOKI_FORMATS = ['logfmt', 'json'] as const;
const LOKI_ENCODINGS = ['protobuf', 'json'] as const;
const LOKI_TIMESTAMPS = ['receive', 'client'] as const;
const TRACE_ENCODINGS = ['protobuf', 'json'] as const;

const literals = <T extends readonly string[]>(values: T, options: Record<string, unknown>) =>
  Type.Union(
    values.map((value) => Type.Literal(value)),
    options,
  );
const stringMap = (description: string, withDefault: boolean) =>
  Type.Record(Type.String(), Type.String(), {
    ...(withDefault ? { default: {} } : {}),
    description,
  });

/**
 * The Loki sink's settings. The global block has defaults; a tenant's `sinks.loki` overrides any
 * of them (so the same builder makes the fields of both, with and without defaults).
 */
function lokiFields(withDefaults: boolean) {
  const d = <T>(value: T) => (withDefaults ? { default: value } : {});
  const fields = {
    url: Type.String({
      ...d(''),
      pattern: HTTP_URL_PATTERN,
      description: 'Loki base URL (`/loki/api/v1/push` is appended). Empty: no Loki delivery.',
    }),
    format: literals(LOKI_FORMATS, {
      ...d('logfmt'),
      description:
        'Line format: `logfmt` (byte for byte the line of Alloy `faro.receiver`) or `json`.',
    }),
    encoding: literals(LOKI_ENCODINGS, {
      ...d('protobuf'),
      description: 'Push encoding: `protobuf` (snappy) or `json` (gzip).',
    }),
    labels: stringMap(
      'Labels added to every stream, besides service_name, app_name, app_environment, kind and level. A value of "" copies the line key of the same name (as Alloy `extra_log_labels`).',
      withDefaults,
    ),
    structuredMetadata: Type.Boolean({
      ...d(true),
      description:
        'Send session_id, trace_id, span_id, page_id, page_url and app_id as structured metadata (Loki 3).',
    }),
    timestamp: literals(LOKI_TIMESTAMPS, {
      ...d('receive'),
      description:
        'Entry timestamp: receive time (as Alloy; client clocks skew) or the item timestamp.',
    }),
    headers: stringMap('Extra request headers (for example Authorization).', withDefaults),
  };
  return fields;
}

function tracesFields(withDefaults: boolean) {
  const d = <T>(value: T) => (withDefaults ? { default: value } : {});
  const fields = {
    url: Type.String({
      ...d(''),
      pattern: HTTP_URL_PATTERN,
      description:
        'OTLP/HTTP traces endpoint base URL (`/v1/traces` is appended), e.g. Tempo. Empty: no trace delivery.',
    }),
    encoding: literals(TRACE_ENCODINGS, {
      ...d('protobuf'),
      description: 'OTLP/HTTP encoding: `protobuf` (every OTLP receiver must take it) or `json`.',
    }),
    headers: stringMap('Extra request headers.', withDefaults),
  };
  return fields;
}

const sinkBlock = { default: {}, additionalProperties: false } as const;
const LokiSink = Type.Object(lokiFields(true), sinkBlock);
const TracesSink = Type.Object(tracesFields(true), sinkBlock);

const TenantSinks = Type.Object(
  {
    loki: Type.Optional(
      Type.Partial(Type.Object(lokiFields(false), { additionalProperties: false })),
    ),
    traces: Type.Optional(
      Type.Partial(Type.Object(tracesFields(false), { additionalProperties: false })),
    ),
  },
  { additionalProperties: false, description: 'Overrides of the global `sinks` for this tenant.' },
);

const DeclaredTenant = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN, description: 'Unique tenant id.' }),
    name: Type.Optional(Type.String({ minLength: 1 })),
    orgId: Type.Optional(
      Type.String({
        minLength: 1,
        description: '`X-Scope-OrgID` sent to Loki and Tempo (default: the tenant id).',
      }),
    ),
    sinks: Type.Optional(TenantSinks),
    privacy: Type.Optional(TenantPrivacySchema),
    limits: Type.Optional(LimitsSchema),
    apps: Type.Array(DeclaredApp, { default: [] }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        public: address(
          '127.0.0.1:12347',
          'Public listener (Faro ingest, remote config, health). The only one to expose to the internet.',
          '--public <host:port>',
        ),
        internal: address(
          '127.0.0.1:12348',
          'Internal listener (admin and read API, metrics, demo page). Keep it private.',
          '--internal <host:port>',
        ),
        publicUrl: Type.String({
          default: '',
          description:
            'URL at which browsers reach the public listener, used in printed snippets and the demo page. Empty: derived from `server.public`.',
          flag: '--public-url <url>',
        }),
        shutdownTimeout: duration(
          '10s',
          'On SIGTERM/SIGINT, how long to wait for in-flight requests and the store flush before exiting anyway.',
        ),
        keepAliveTimeout: duration(
          '65s',
          'Idle keep-alive timeout of the public listener; keep it above your load balancer idle timeout.',
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    dataDir: Type.String({
      default: './pharos-data',
      minLength: 1,
      description: 'Directory for the registry, the telemetry store and the admin token.',
      flag: '--data-dir <dir>',
    }),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) =>
            Type.Literal(level),
          ),
          {
            default: 'info',
            description: 'Log level of Pharos itself (logs go to stdout as JSON).',
            flag: '--log-level <level>',
          },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    ingest: Type.Object(
      {
        maxBodyBytes: bytes(
          '5MiB',
          'Cap on the *decompressed* body of one request; reading stops with 413 the moment it is passed.',
        ),
        maxJsonDepth: Type.Integer({
          default: 64,
          minimum: 8,
          maximum: 1000,
          description: 'Deepest nesting of objects and arrays accepted in a payload.',
        }),
        maxItemsPerRequest: Type.Integer({
          default: 5000,
          minimum: 1,
          description: 'Most logs + exceptions + measurements + events + spans in one request.',
        }),
        bodyTimeout: duration(
          '30s',
          'Time allowed to receive a whole request (headers and body); 408 after it.',
        ),
        headersTimeout: duration('10s', 'Time allowed to receive the request headers.'),
      },
      { default: {}, additionalProperties: false },
    ),
    cors: Type.Object(
      {
        allowedHeaders: Type.Array(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }), {
          default: [],
          description:
            'Request headers allowed in addition to `content-type, content-encoding, x-api-key, x-faro-session-id, idempotency-key, traceparent, tracestate`.',
        }),
        maxAge: duration(
          '2h',
          'How long browsers may cache a preflight answer (`Access-Control-Max-Age`).',
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    store: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            'Keep accepted telemetry in the embedded SQLite store (read by the API, CLI and UI).',
        }),
        maxAge: duration('7d', 'Items older than this are deleted.'),
        maxBytes: bytes(
          '1GiB',
          'When the store file grows past this, the oldest items are deleted first.',
        ),
        flushInterval: duration(
          '200ms',
          'Longest time an accepted item waits before it is written.',
        ),
        maxQueueBytes: bytes(
          '64MiB',
          'Accepted data waiting to be written; past it, ingest answers 503 with Retry-After instead of accepting.',
        ),
        retentionInterval: duration('1m', 'How often retention runs.'),
      },
      { default: {}, additionalProperties: false },
    ),
    sinks: Type.Object(
      {
        loki: LokiSink,
        traces: TracesSink,
        metrics: Type.Object(
          {
            enabled: Type.Boolean({
              default: true,
              description:
                'Turn web vitals into Prometheus histograms (and page loads, sessions, exceptions, events into counters) on /metrics.',
            }),
            routes: routePatterns(),
            maxSeriesPerTenant: Type.Integer({
              default: 2000,
              minimum: 10,
              description:
                'Distinct label sets per tenant and metric; past it, new values are recorded as `other` and counted.',
            }),
            maxSeries: Type.Integer({
              default: 10000,
              minimum: 10,
              description:
                'Distinct label sets per metric, all tenants together; past it, new label sets are recorded with `app` and the route, type or name as `other`, and counted. Keeps /metrics and its memory bounded however many apps there are.',
            }),
            maxEnvironmentsPerTenant: Type.Integer({
              default: 20,
              minimum: 1,
              description:
                'Distinct `environment` label values (`meta.app.environment`) per tenant; past it, new ones are recorded as `other` and counted.',
            }),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    delivery: Type.Object(
      {
        durability: literals(['memory', 'disk'] as const, {
          default: 'memory',
          description:
            '`memory`: queued in memory, spooled to disk on overflow and at shutdown. `disk`: every batch is on disk (group commit) before the 202, so a crash loses nothing acknowledged.',
        }),
        maxQueueBytes: bytes(
          '32MiB',
          'Per sink and tenant: data waiting in memory; past it, batches go to the spool.',
        ),
        maxMemoryBytes: bytes(
          '64MiB',
          "Across every tenant and sink: data queued in memory (waiting or being pushed). Past it, new batches go to the spool on disk, as when a queue's own `maxQueueBytes` is full, so that a backend down for many tenants cannot exhaust memory.",
        ),
        maxWaitingBytes: bytes(
          '8MiB',
          'Across every tenant and sink: data waiting in memory for a batch to fill. Past it, the queue holding the most (at least 64 KiB) pushes at once instead of waiting for `batchMaxAge`, so that many quiet tenants cost no more memory than one busy one.',
        ),
        maxSpoolBytes: bytes(
          '1GiB',
          'Per sink and tenant: data in the spool on disk; past it (and memory full) ingest for that tenant answers 503 with Retry-After.',
        ),
        batchMaxItems: Type.Integer({
          default: 2000,
          minimum: 1,
          description: 'Most items in one push.',
        }),
        batchMaxBytes: bytes('1MiB', 'Most bytes in one push (before compression).'),
        batchMaxAge: duration('1s', 'Longest an item waits for a push to fill up.'),
        retryInitialDelay: duration(
          '500ms',
          'First wait after a failed push; doubles up to `retryMaxDelay` (±20% jitter). A backend Retry-After wins.',
        ),
        retryMaxDelay: duration('30s', 'Longest wait between two attempts.'),
        requestTimeout: duration('10s', 'Deadline of one push.'),
      },
      { default: {}, additionalProperties: false },
    ),
    sourcemaps: Type.Object(
      {
        cacheMaxBytes: bytes(
          '256MiB',
          'Bound on parsed source maps in memory, each charged its estimated heap (about 3 times its JSON for a typical map, up to 20 times for one that is all mappings). A map that alone exceeds it is not used (`pharos_sourcemap_frames_total{result="map_too_large"}`).',
        ),
        maxUploadBytes: bytes(
          '30MiB',
          "Cap on one uploaded source map, and on the maps of one tarball together, uncompressed (faro-cli's own limit is 30 MiB). Also the cap on a map read from a location or downloaded.",
        ),
        uploadTimeout: duration('2m', 'Time allowed to receive a whole source-map upload.'),
        maxWait: duration(
          '1500ms',
          'Longest an ingest request waits for source maps to load. Frames whose map is not ready by then are kept as sent (counted as `timeout`); the map goes on loading for the next ones.',
        ),
        recheck: duration(
          '30s',
          "How long where a frame's map is (or that there is none) is trusted before the registry database is asked again. Maps uploaded through another replica are used after at most this.",
        ),
        locations: Type.Array(
          Type.Object(
            {
              path: Type.String({
                minLength: 1,
                description:
                  'A directory, or an http(s) base URL; `{release}` is replaced with `meta.app.release`.',
              }),
              minifiedPathPrefix: Type.Optional(
                Type.String({
                  description:
                    'Only frames whose filename starts with this are looked up here, with it removed (default: every frame).',
                }),
              ),
              tenant: Type.Optional(Type.String({ pattern: ID_PATTERN })),
              app: Type.Optional(Type.String({ pattern: ID_PATTERN })),
            },
            { additionalProperties: false },
          ),
          {
            default: [],
            description:
              "Where maps may already be (as Alloy's `location` blocks), tried after uploaded maps: the frame's filename minus the prefix and the query, plus `.map`, under `path`. A filename with a `..` segment is refused.",
          },
        ),
        download: Type.Object(
          {
            origins: Type.Record(Type.String(), Type.Array(Type.String({ minLength: 1 })), {
              default: {},
              description:
                "Per tenant id, or `<tenant>/<app>` (replacing the tenant's list for that app): origins (`https://cdn.example.com`, `https://*.example.com`, `*`) whose scripts and their `sourceMappingURL` maps may be downloaded for frames no uploaded or located map covers. Absent: no downloads. Loopback, private, link-local, metadata and other non-public addresses are never contacted, whatever this says.",
            }),
            timeout: duration('3s', 'Deadline of one download, redirects (at most 3) included.'),
            maxScriptBytes: bytes('10MiB', 'Cap on a downloaded script.'),
            maxConcurrent: Type.Integer({
              default: 8,
              minimum: 1,
              description:
                'Most downloads at once, all origins together; past it a lookup fails at once (`download_failed`) instead of queueing.',
            }),
            failureTtl: duration(
              '5m',
              'How long a failed download is remembered instead of being tried again.',
            ),
            recheck: duration(
              '5m',
              'How long a map found by downloading is used before the script is fetched again to see whether it changed.',
            ),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    registry: Type.Object(
      {
        url: Type.String({
          default: '',
          pattern: '^(postgres(ql)?://\\S+)?$',
          description:
            'Where tenants, apps, keys, tokens and source maps live: empty for SQLite in the data dir, or `postgres://user:pass@host/db` shared by every replica.',
          flag: '--registry <url>',
        }),
        pollInterval: duration(
          '1s',
          'How often a replica checks the registry for changes made elsewhere, when the database cannot notify it (SQLite).',
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    redis: Type.Object(
      {
        url: Type.String({
          default: '',
          pattern: '^(rediss?://\\S+)?$',
          description:
            'Redis shared by the replicas for rate limits and idempotency keys (`redis://host:6379`). Empty: kept in memory, per replica.',
          flag: '--redis <url>',
        }),
        keyPrefix: Type.String({
          default: 'pharos:',
          description: 'Prefix of every Redis key Pharos writes.',
        }),
        commandTimeout: duration(
          '250ms',
          'Deadline of one rate-limit decision in Redis. Past it the decision is made on local buckets, and this replica counts locally (each limit ÷ `limits.replicas`) until a probe (every second) finds Redis again. A stalled event loop (CPU throttling, a long GC) looks like a slow Redis, so keep it well above such stalls.',
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    limits: Type.Object(
      {
        replicas: Type.Integer({
          default: 1,
          minimum: 1,
          description:
            'Replicas expected to share the limits. Without Redis, or while it is unreachable, each replica enforces its share (limit ÷ replicas) locally. With `--workers N`, every worker is counted: each enforces limit ÷ (replicas × N).',
        }),
        global: limitsLevel({}, 'Limits on all traffic together (all tenants, all replicas).'),
        tenant: limitsLevel(
          { requests: { perSecond: 1000, burst: 2000 } },
          "Default limits of every tenant; a tenant's own `limits` replace them field by field.",
        ),
        app: limitsLevel(
          {},
          "Default limits of every app; an app's own `limits` replace them field by field.",
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    shedding: Type.Object(
      {
        maxEventLoopDelay: duration(
          '250ms',
          'Past this event-loop delay (p99 over the last second) new requests get 503 with Retry-After instead of making it worse.',
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    idempotency: Type.Object(
      {
        window: duration(
          '10m',
          'A request carrying an `Idempotency-Key` already accepted for the same app within this window is answered 202 without being ingested again. Keys are claimed when a request is admitted and released if it fails, so a retry of a refused batch is processed; a retry that arrives while the first request is still running is answered 503 with `Retry-After: 1`.',
        ),
        maxKeys: Type.Integer({
          default: 200000,
          minimum: 1000,
          description:
            'Keys remembered in memory when there is no Redis, or while it is unreachable (least recently used go first). Each costs ~27 bytes, in typed arrays outside the heap: the default, ~5.4 MiB, allocated at start and full after 200,000 requests (the SDK sends a fresh key with every request).',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    privacy: PrivacySettingsSchema,
    grouping: Type.Object(
      {
        maxFrames: Type.Integer({
          default: 5,
          minimum: 1,
          maximum: 50,
          description:
            'In-app stack frames (function and file, never line or column) that identify an error group, innermost first.',
        }),
        libraryPatterns: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Regular expressions of script paths that are library code, besides node_modules, vendor, bower_components and the webpack runtime: their frames do not group errors.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    admin: Type.Object(
      {
        token: Type.String({
          default: '',
          description:
            'A fixed admin token (at least 24 characters) accepted in addition to the generated one in `<dataDir>/admin-token`. Prefer setting it by environment.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    demo: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            'On a first start with an empty registry, create the `demo` tenant and app; serve `/demo` on the internal listener.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    tenants: Type.Array(DeclaredTenant, {
      default: [],
      description:
        'Declarative tenants and apps (GitOps). At start the registry is reconciled to this list: declared objects are created or updated, objects that were declared before and are gone are deleted; objects created through the API are left alone.',
    }),
  },
  { additionalProperties: false },
);

export type PharosConfig = StaticDecode<typeof ConfigSchema>;
export type DeclaredTenantConfig = StaticDecode<typeof DeclaredTenant>;
export type DeclaredAppConfig = StaticDecode<typeof DeclaredApp>;
export type TenantSinksConfig = StaticDecode<typeof TenantSinks>;
export type LokiSinkConfig = PharosConfig['sinks']['loki'];
export type TracesSinkConfig = PharosConfig['sinks']['traces'];

/** `ingest.maxBodyBytes` → `PHAROS_INGEST_MAX_BODY_BYTES`. */
export function envName(path: readonly string[]): string {
  return `PHAROS_${path.map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

export interface ConfigLeaf {
  path: string[];
  schema: TSchema;
}

/** Every scalar or list-of-scalars setting, in schema order (the things env and flags can set). */
export function configLeaves(schema: TSchema = ConfigSchema, path: string[] = []): ConfigLeaf[] {
  if (schema.type === 'object' && schema.properties && schema['x-kind'] === undefined) {
    return Object.entries(schema.properties as Record<string, TSchema>).flatMap(([key, child]) =>
      configLeaves(child, [...path, key]),
    );
  }
  if (schema.type === 'array' && (schema.items as TSchema | undefined)?.type === 'object')
    return [];
  return [{ path, schema }];
}
