import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TalliedCounter } from '../../metrics/tallied-counter.js';
import type { MapCacheEvents, SourceMapCache } from './map-cache.js';
import { FRAME_RESULTS, type FrameResult } from './resolver.js';

/**
 * The source-map metrics, registered on the registry Pharos serves on /metrics. Every label has a
 * closed set of values (no URL, app or file name: those are unbounded).
 */
export function createSourcemapMetrics(registry: Registry) {
  const registers = [registry];
  const frames = new TalliedCounter({
    name: 'pharos_sourcemap_frames_total',
    help: `Exception stack frames with a file and position, by what symbolication did: ${FRAME_RESULTS.join(', ')}.`,
    labelNames: ['result'] as const,
    registers,
  });
  // Every result is exported from the start (at 0), so rate() and absent() work before the first one.
  for (const result of FRAME_RESULTS) frames.labels(result).inc(0);

  const hits = new Counter({
    name: 'pharos_sourcemap_cache_hits_total',
    help: 'Source-map lookups answered by the parsed-map cache.',
    registers,
  });
  const misses = new Counter({
    name: 'pharos_sourcemap_cache_misses_total',
    help: 'Source-map lookups that had to read and parse a map.',
    registers,
  });
  const evictions = new Counter({
    name: 'pharos_sourcemap_cache_evictions_total',
    help: 'Parsed maps dropped (least recently used) to stay under the cache bound.',
    registers,
  });
  const loadDuration = new Histogram({
    name: 'pharos_sourcemap_load_duration_seconds',
    help: 'Time to read (store, file or download) and parse one source map.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  let cache: SourceMapCache | undefined;
  new Gauge({
    name: 'pharos_sourcemap_cache_bytes',
    help: 'Estimated heap of the parsed source maps held in memory; at most the configured bound.',
    registers,
    collect() {
      this.set(cache?.bytes ?? 0);
    },
  });
  new Gauge({
    name: 'pharos_sourcemap_cache_entries',
    help: 'Parsed source maps held in memory.',
    registers,
    collect() {
      this.set(cache?.size ?? 0);
    },
  });

  const cacheEvents: MapCacheEvents = {
    hit: () => hits.inc(),
    miss: () => misses.inc(),
    evicted: (count) => evictions.inc(count),
    loaded: (seconds) => loadDuration.observe(seconds),
  };
  return {
    countFrame: (result: FrameResult) => frames.labels(result).inc(),
    cacheEvents,
    /** The cache whose size the gauges report. */
    watchCache(watched: SourceMapCache) {
      cache = watched;
    },
  };
}

export type SourcemapMetrics = ReturnType<typeof createSourcemapMetrics>;
