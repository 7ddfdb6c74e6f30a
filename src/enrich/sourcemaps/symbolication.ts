import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Enricher } from '../types.js';
import { SOURCEMAP_DEFAULTS } from './defaults.js';
import { SafeDownloader, type Connector, type HostResolver } from './downloader.js';
import { createSourcemapEnricher } from './enricher.js';
import type { SourceMapLocation } from './locations.js';
import { SourceMapCache } from './map-cache.js';
import { createSourcemapMetrics } from './metrics.js';
import { SourceMapResolver, type FrameContext } from './resolver.js';
import type { SourceMapStore } from './store.js';

export { SOURCEMAP_DEFAULTS };

export interface DownloadOptions {
  /**
   * Origins whose scripts and maps may be downloaded, for an app's frames. Empty (the default):
   * no downloads. Whatever the list says, private, loopback, link-local and metadata addresses
   * are never contacted.
   */
  origins?: (context: FrameContext) => readonly string[];
  timeoutMs?: number;
  maxRedirects?: number;
  failureTtlMs?: number;
  /** Most downloads at once, all URLs together; more fail at once. Default 8. */
  maxConcurrent?: number;
  /** Tests only: permits exactly http(s)://127.0.0.1 URLs (see address-guard.ts). */
  allowLoopbackForTests?: boolean;
  /** Tests only: a fake DNS. */
  resolve?: HostResolver;
  /** Tests only: a socket factory that can refuse. */
  connect?: Connector;
}

export interface SourcemapOptions {
  store: SourceMapStore;
  /** Where `pharos_sourcemap_*` are registered (Pharos's `metrics.registry`). */
  metricsRegistry: MetricsRegistry;
  logger?: Logger;
  /** Bound on parsed maps in memory (JSON bytes as the proxy). Default 256 MiB. */
  cacheMaxBytes?: number;
  maxConcurrentLoads?: number;
  maxMapBytes?: number;
  maxScriptBytes?: number;
  locations?: readonly SourceMapLocation[];
  download?: DownloadOptions;
  /** How long where a frame's map is (or that there is none) is trusted. Default 30 s. */
  recheckMs?: number;
  /** The same for maps found by downloading. Default 5 min. */
  downloadRecheckMs?: number;
  /** Longest a batch waits for maps to load (see EnricherOptions). Default 1.5 s. */
  maxWaitMs?: number;
  /** Distinct files looked up per batch. Default 32. */
  maxFilesPerBatch?: number;
  clock?: () => number;
}

export interface Sourcemaps {
  readonly enricher: Enricher;
  readonly resolver: SourceMapResolver;
  readonly cache: SourceMapCache;
  /** Pass to the upload routes' `onChange`: this replica sees new or deleted maps at once. */
  forgetBundle(appId: string, bundleId: string): void;
}

/** Assembles symbolication: cache, downloader, resolver, metrics and the enricher. */
export function createSourcemapSymbolication(options: SourcemapOptions): Sourcemaps {
  const defaults = SOURCEMAP_DEFAULTS;
  const metrics = createSourcemapMetrics(options.metricsRegistry);
  const cache = new SourceMapCache(
    {
      maxBytes: options.cacheMaxBytes ?? defaults.cacheMaxBytes,
      maxConcurrentLoads: options.maxConcurrentLoads ?? defaults.maxConcurrentLoads,
    },
    metrics.cacheEvents,
  );
  metrics.watchCache(cache);
  const download = options.download ?? {};
  const downloader = new SafeDownloader({
    timeoutMs: download.timeoutMs ?? defaults.downloadTimeoutMs,
    maxRedirects: download.maxRedirects ?? defaults.maxRedirects,
    failureTtlMs: download.failureTtlMs ?? defaults.downloadFailureTtlMs,
    maxConcurrentDownloads: download.maxConcurrent ?? defaults.maxConcurrentDownloads,
    allowLoopbackForTests: download.allowLoopbackForTests,
    resolve: download.resolve,
    connect: download.connect,
    clock: options.clock,
  });
  const resolver = new SourceMapResolver({
    store: options.store,
    cache,
    downloader,
    locations: options.locations ?? [],
    downloadOrigins: download.origins,
    maxMapBytes: options.maxMapBytes ?? defaults.maxMapBytes,
    maxScriptBytes: options.maxScriptBytes ?? defaults.maxScriptBytes,
    recheckMs: options.recheckMs ?? defaults.recheckMs,
    downloadRecheckMs: options.downloadRecheckMs ?? defaults.downloadRecheckMs,
    clock: options.clock,
    logger: options.logger,
  });
  return {
    enricher: createSourcemapEnricher(
      resolver,
      metrics.countFrame,
      {
        maxWaitMs: options.maxWaitMs ?? defaults.maxWaitMs,
        maxFilesPerBatch: options.maxFilesPerBatch ?? defaults.maxFilesPerBatch,
      },
      options.logger,
    ),
    resolver,
    cache,
    forgetBundle: (appId, bundleId) => resolver.forgetBundle(appId, bundleId),
  };
}
