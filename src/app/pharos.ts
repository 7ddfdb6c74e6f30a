import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { createAdmission } from '../admission/index.js';
import { createIdempotency, createIdempotencyStore } from '../admission/idempotency/index.js';
import { createLimiter } from '../admission/limits/index.js';
import { createSessionSampling } from '../admission/sampling.js';
import { createLoadShedder } from '../admission/shedding.js';
import { createInternalServer } from '../admin/server.js';
import type { PharosConfig } from '../config/index.js';
import { createFingerprintEnricher, fingerprintLineKeys } from '../enrich/fingerprint/index.js';
import { createPrivacyEnricher } from '../enrich/privacy/index.js';
import {
  createSourcemapSymbolication,
  openPostgresSourceMapStore,
  openSqliteSourceMapStore,
  sourcemapOptionsFrom,
  uploadLimitsFrom,
  type SourceMapStore,
} from '../enrich/sourcemaps/index.js';
import type { Enricher } from '../enrich/types.js';
import { PharosError } from '../errors/index.js';
import { createCorsPolicy, createPublicServer } from '../ingest/index.js';
import { createRemoteConfigHandler } from '../ingest/remote-config.js';
import { localUrl, type ListenAddress } from '../lib/address.js';
import { createMetrics, type Metrics } from '../metrics/index.js';
import { createCollectPipeline } from '../pipeline/index.js';
import {
  Registry,
  openPostgresRegistry,
  openSqliteRegistry,
  reconcileRegistry,
  type RegistryStore,
} from '../registry/index.js';
import { SinkRouter, createFanout, createStoreSink, type Sink } from '../sinks/index.js';
import { createMetricsSink } from '../sinks/metrics/index.js';
import { TelemetryStore } from '../store/index.js';
import { registerDemoRoutes } from '../ui/demo-routes.js';
import { VERSION } from '../version.js';
import { bootstrapDemo, demoKey, ensureAdminToken, type DemoApp } from './bootstrap.js';

export interface PharosOptions {
  logger?: Logger;
  clock?: () => number;
  /**
   * How often the registry cache polls its store for changes made elsewhere (default
   * `registry.pollInterval`); with PostgreSQL, changes are pushed and this is only a safety net.
   */
  registryPollMs?: number;
}

export interface Pharos {
  readonly config: Readonly<PharosConfig>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly registry: Registry;
  readonly store: TelemetryStore | undefined;
  /** Base URL of the public listener as bound (port resolved when it was 0). */
  readonly publicUrl: string;
  readonly internalUrl: string;
  readonly adminTokenFile: string;
  /** Set on the first start, when the demo tenant and app were created. */
  readonly demo: DemoApp | undefined;
  /** Writes everything queued in the sinks (tests use it to read what was just sent). */
  flush(): Promise<void>;
  /** Graceful shutdown: stop accepting, finish in-flight requests, flush, close. Idempotent. */
  close(): Promise<void>;
}

/** Assembles and starts Pharos: registry, store, sinks, pipeline, and both listeners. */
export async function startPharos(
  config: Readonly<PharosConfig>,
  options: PharosOptions = {},
): Promise<Pharos> {
  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? pino({ level: config.log.level, base: { service: 'pharos' } });
  const metrics = createMetrics(VERSION);
  mkdirSync(config.dataDir, { recursive: true });

  const store = config.store.enabled
    ? new TelemetryStore(join(config.dataDir, 'telemetry.db'))
    : undefined;
  const sinks: Sink[] = [];
  if (store) {
    sinks.push(
      createStoreSink(
        store,
        { flushIntervalMs: config.store.flushInterval, maxQueueBytes: config.store.maxQueueBytes },
        metrics,
        logger,
      ),
    );
  }
  if (config.sinks.metrics.enabled) {
    // One sink for every tenant: its caps are per tenant inside, and it records into Pharos's
    // own registry, so the histograms are served on the internal /metrics.
    sinks.push(
      createMetricsSink(
        {
          routes: config.sinks.metrics.routes,
          maxSeriesPerTenant: config.sinks.metrics.maxSeriesPerTenant,
          maxSeries: config.sinks.metrics.maxSeries,
          maxEnvironmentsPerTenant: config.sinks.metrics.maxEnvironmentsPerTenant,
        },
        { registry: metrics.registry, logger: logger.child({ sink: 'metrics' }) },
      ),
    );
  }
  const router = new SinkRouter({
    config,
    metrics,
    logger,
    clock,
    shared: sinks,
    appName: (appId) => registry.cachedApp(appId)?.name,
    lokiTrailingKeys: fingerprintLineKeys,
  });
  const registry = new Registry(await openRegistryStore(config, clock, logger), {
    clock,
    onReload: async (snapshot) => {
      metrics.registryApps.set(snapshot.apps.length);
      await router.sync(snapshot.tenants);
    },
  });
  await registry.refresh(true);
  const report = await reconcileRegistry(registry, config.tenants, clock);
  if (report.created.length + report.updated.length + report.deleted.length > 0) {
    logger.info(report, 'registry reconciled to the config file');
  }
  const { file: adminTokenFile } = await ensureAdminToken(registry, config.dataDir);

  // Source maps live in the registry database (every replica sees them), on their own connection.
  const sourceMapStore = await openSourceMapStore(config, clock, logger);
  const sourcemaps = createSourcemapSymbolication(
    sourcemapOptionsFrom(config.sourcemaps, {
      store: sourceMapStore,
      metricsRegistry: metrics.registry,
      logger: logger.child({ enrich: 'sourcemaps' }),
      clock,
    }),
  );
  // Order matters: maps are found by the frames' original URLs; privacy rules run before
  // anything is hashed, so no secret ever reaches a fingerprint; fingerprints use original frames.
  const enrichers: Enricher[] = [
    sourcemaps.enricher,
    createPrivacyEnricher({
      global: config.privacy,
      tenants: new Map(config.tenants.map((tenant) => [tenant.id, tenant.privacy ?? {}])),
      onRedactions: (tenant, rule, count) =>
        metrics.privacyRedactions.labels(tenant, rule).inc(count),
      onFailure: (tenant, error) =>
        logger.error({ err: error, tenant }, 'privacy rules failed; the batch items were removed'),
    }),
    createFingerprintEnricher({
      maxFrames: config.grouping.maxFrames,
      libraryPatterns: config.grouping.libraryPatterns.map((pattern) => new RegExp(pattern)),
      onFingerprint: (tenant, source) => metrics.errorFingerprints.labels(tenant, source).inc(),
    }),
  ];

  // Every registry reload (reconciliation above included) has synced the router's tenants.
  const fanout = createFanout(router);
  const retention = store ? startRetention(store, config, metrics, logger, clock) : undefined;

  // Redis (shared by the replicas) when configured, this replica's memory otherwise and while
  // Redis is unreachable. Start waits a little for the connection, never fails for it.
  const idempotencyStore = createIdempotencyStore({
    redisUrl: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    maxKeys: config.idempotency.maxKeys,
    logger: logger.child({ component: 'idempotency' }),
    onFallback: () => metrics.idempotencyFallbacks.inc(),
  });
  const limiter = createLimiter({
    limits: config.limits,
    redis: config.redis.url
      ? {
          url: config.redis.url,
          keyPrefix: config.redis.keyPrefix,
          commandTimeoutMs: config.redis.commandTimeout,
        }
      : undefined,
    tenantOf: (tenantId) => registry.cachedTenant(tenantId),
    metricsRegistry: metrics.registry,
    logger: logger.child({ component: 'limits' }),
  });
  const shedder = createLoadShedder({
    maxEventLoopDelayMs: config.shedding.maxEventLoopDelay,
    metricsRegistry: metrics.registry,
  });
  await Promise.all([idempotencyStore.ready, config.redis.url ? limiter.ready(2000) : undefined]);

  const pipeline = createCollectPipeline({
    admission: createAdmission(registry),
    sampling: createSessionSampling({ sampledOut: metrics.sampledOut }),
    idempotency: createIdempotency({
      store: idempotencyStore.store,
      windowMs: config.idempotency.window,
      // A claim outlives the longest request (body timeout) by a margin; a replica that dies
      // mid-request frees its keys after it.
      leaseMs: config.ingest.bodyTimeout + 5000,
      counters: { requests: metrics.idempotencyRequests },
      logger,
    }),
    limiter,
    shedder,
    fanout,
    enrichers,
    metrics,
    clock,
    limits: {
      maxBodyBytes: config.ingest.maxBodyBytes,
      maxJsonDepth: config.ingest.maxJsonDepth,
      maxItemsPerRequest: config.ingest.maxItemsPerRequest,
      bodyTimeoutMs: config.ingest.bodyTimeout,
    },
  });

  let state: 'starting' | 'ready' | 'draining' = 'starting';
  const publicServer = createPublicServer({
    pipeline,
    cors: createCorsPolicy({
      allowedHeaders: config.cors.allowedHeaders,
      maxAgeMs: config.cors.maxAge,
    }),
    remoteConfig: createRemoteConfigHandler(registry),
    metrics,
    logger,
    isReady: () => state === 'ready',
    isDraining: () => state === 'draining',
    timeouts: {
      headersMs: config.ingest.headersTimeout,
      requestMs: config.ingest.bodyTimeout,
      keepAliveMs: config.server.keepAliveTimeout,
    },
  });

  // Listen first: with port 0 (tests), the demo's allowed origin and the URLs need the real port.
  const publicAddress = await listen(publicServer, config.server.public, 'public');
  const publicUrl =
    config.server.publicUrl.replace(/\/+$/, '') ||
    localUrl({ host: config.server.public.host, port: publicAddress.port });
  let internal: FastifyInstance | undefined;
  try {
    internal = await createInternalServer({
      registry,
      store,
      metrics,
      logger,
      staticAdminToken: config.admin.token,
      // Shown by GET …/limits next to each tenant's and app's own limits.
      limitDefaults: config.limits,
      isReady: () => state === 'ready',
      defaultKeyGraceMs: 24 * 60 * 60 * 1000,
      publicUrl,
      sourcemaps: {
        store: sourceMapStore,
        limits: uploadLimitsFrom(config.sourcemaps),
        onChange: (appId, bundleId) => sourcemaps.forgetBundle(appId, bundleId),
      },
      otlp: {
        accept: async (batch) => {
          // Backend spans get the same privacy rules as the browser's before any sink sees them.
          for (const enricher of enrichers) await enricher.enrich(batch);
          await fanout.accept(batch);
          metrics.itemsReceived.labels(batch.tenantId, 'span').inc(batch.itemCount);
        },
        limits: {
          maxBodyBytes: config.ingest.maxBodyBytes,
          bodyTimeoutMs: config.ingest.bodyTimeout,
          maxJsonDepth: config.ingest.maxJsonDepth,
          maxItemsPerRequest: config.ingest.maxItemsPerRequest,
        },
        clock,
      },
      plugins: config.demo.enabled
        ? [(app) => registerDemoRoutes(app, { publicUrl, demoKey: () => demoKey(registry) })]
        : [],
    });
    await internal.listen({ host: config.server.internal.host, port: config.server.internal.port });
  } catch (error) {
    publicServer.close();
    shedder.close();
    await Promise.all([idempotencyStore.close(), limiter.close()]);
    throw listenError(error, config.server.internal, 'internal');
  }
  const internalAddress = internal.server.address() as AddressInfo;
  const internalUrl = localUrl({ host: config.server.internal.host, port: internalAddress.port });

  const demo = config.demo.enabled
    ? await bootstrapDemo(registry, demoOrigins(internalUrl))
    : undefined;
  const registryUpdates = await registry.startFollowing(
    options.registryPollMs ?? config.registry.pollInterval,
    (error) => logger.warn({ err: error }, 'registry refresh failed'),
  );
  logger.debug({ registryUpdates }, 'following registry changes');
  state = 'ready';
  shedder.start();
  logger.info({ public: publicUrl, internal: internalUrl, version: VERSION }, 'pharos is ready');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      state = 'draining';
      logger.info('shutting down: finishing in-flight requests');
      const deadline = setTimeout(() => {
        logger.warn('shutdown timeout reached; closing remaining connections');
        publicServer.closeAllConnections();
        internal?.server.closeAllConnections();
      }, config.server.shutdownTimeout);
      deadline.unref();
      await Promise.all([closeServer(publicServer), internal?.close()]);
      clearTimeout(deadline);
      if (retention) clearInterval(retention);
      await registry.stopFollowing();
      await fanout.close();
      shedder.close();
      await Promise.all([idempotencyStore.close(), limiter.close()]);
      store?.close();
      await sourceMapStore.close();
      await registry.store.close();
      logger.info('shutdown complete');
    })());

  return {
    config,
    logger,
    metrics,
    registry,
    store,
    publicUrl,
    internalUrl,
    adminTokenFile,
    demo,
    flush: () => fanout.flush(),
    close,
  };
}

/** SQLite in the data dir by default; PostgreSQL, shared by every replica, with `registry.url`. */
async function openRegistryStore(
  config: Readonly<PharosConfig>,
  clock: () => number,
  logger: Logger,
): Promise<RegistryStore> {
  if (config.registry.url === '') {
    return openSqliteRegistry(join(config.dataDir, 'registry.db'), clock);
  }
  return openPostgresRegistry(config.registry.url, {
    clock,
    logger: logger.child({ component: 'registry' }),
  });
}

async function openSourceMapStore(
  config: Readonly<PharosConfig>,
  clock: () => number,
  logger: Logger,
): Promise<SourceMapStore> {
  if (config.registry.url === '') {
    return openSqliteSourceMapStore(join(config.dataDir, 'registry.db'), clock);
  }
  return openPostgresSourceMapStore(config.registry.url, {
    clock,
    logger: logger.child({ component: 'sourcemaps' }),
  });
}

function demoOrigins(internalUrl: string): string[] {
  const url = new URL(internalUrl);
  const origins = [url.origin];
  if (url.hostname === '127.0.0.1') origins.push(`http://localhost:${url.port}`);
  return origins;
}

function listen(server: Server, address: ListenAddress, name: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(listenError(error, address, name));
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function listenError(error: unknown, address: ListenAddress, name: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return new PharosError(
      'LISTEN_FAILED',
      `cannot listen on ${address.host}:${address.port} (${name} listener): ${code}`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

function startRetention(
  store: TelemetryStore,
  config: Readonly<PharosConfig>,
  metrics: Metrics,
  logger: Logger,
  clock: () => number,
): NodeJS.Timeout {
  const run = () => {
    try {
      const result = store.applyRetention({
        now: clock(),
        maxAgeMs: config.store.maxAge,
        maxBytes: config.store.maxBytes,
      });
      metrics.storeSizeBytes.set(result.sizeBytes);
      if (result.deletedByAge > 0) metrics.storeItemsDeleted.labels('age').inc(result.deletedByAge);
      if (result.deletedBySize > 0)
        metrics.storeItemsDeleted.labels('size').inc(result.deletedBySize);
      if (result.deletedByAge + result.deletedBySize > 0)
        logger.info(result, 'store retention removed old items');
    } catch (error) {
      logger.error({ err: error }, 'store retention failed');
    }
  };
  run();
  const timer = setInterval(run, config.store.retentionInterval);
  timer.unref();
  return timer;
}
