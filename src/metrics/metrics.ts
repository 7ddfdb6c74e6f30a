import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { metricsChunks, metricsText } from './exposition.js';
import { TalliedCounter } from './tallied-counter.js';
import { TalliedHistogram } from './tallied-histogram.js';

/**
 * Pharos's own metrics. Every instance has its own registry (tests run several in one process).
 * Label sets are bounded: tenants are the registered ones, routes are templates, codes come from
 * the closed error registry; never a session, user or client-chosen value.
 */
export function createMetrics(version: string) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // The tallied histograms and counters write their own lines: at 10,000 apps, a scrape through
  // prom-client's samples took ~1 s and ~200 MiB (docs/performance.md, finding 30).
  const ownText = () => metricsText(registry);
  registry.metrics = ownText;

  const buildInfo = new Gauge({
    name: 'pharos_build_info',
    help: 'Always 1; labelled with the running version.',
    labelNames: ['version', 'node'] as const,
    registers: [registry],
    // With --workers N the primary sums every worker's registry: a fact shared by all is not N×.
    aggregator: 'first',
  });
  buildInfo.labels(version, process.version).set(1);
  const sinkQueueReporters = new Set<() => void>();
  const deliverySharedReporters = new Set<() => void>();

  return {
    registry,
    /**
     * The `/metrics` answer in pieces, to stream; in one piece when `registry.metrics` was
     * replaced (with `--workers`, a worker answers for the whole cluster).
     */
    exposition(): AsyncIterable<string> {
      if (registry.metrics === ownText) return metricsChunks(registry);
      return (async function* () {
        yield await registry.metrics();
      })();
    },
    httpRequests: new TalliedCounter({
      name: 'pharos_http_requests_total',
      help: 'HTTP requests answered, by listener, route template, status and error code ("" on success).',
      labelNames: ['listener', 'route', 'status', 'code'] as const,
      registers: [registry],
    }),
    httpDuration: new TalliedHistogram({
      name: 'pharos_http_request_duration_seconds',
      help: 'Time from the first byte of the request to the end of the response.',
      labelNames: ['listener', 'route'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    requestBodyBytes: new TalliedHistogram({
      name: 'pharos_ingest_request_body_bytes',
      help: 'Ingest body size as sent (wire) and after decompression (decoded).',
      labelNames: ['stage', 'encoding'] as const,
      buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304],
      registers: [registry],
    }),
    itemsReceived: new TalliedCounter({
      name: 'pharos_items_received_total',
      help: 'Telemetry items accepted (answered 202), by tenant and kind.',
      labelNames: ['tenant', 'kind'] as const,
      registers: [registry],
    }),
    privacyRedactions: new TalliedCounter({
      name: 'pharos_privacy_redactions_total',
      help: 'Strings a privacy rule changed, and fields dropped (rule="dropFields"), by tenant and rule.',
      labelNames: ['tenant', 'rule'] as const,
      registers: [registry],
    }),
    errorFingerprints: new TalliedCounter({
      name: 'pharos_error_fingerprints_total',
      help: 'Exceptions grouped, by tenant and source: client (its own fingerprint), stack (in-app frames), message (no in-app frame; often missing source maps).',
      labelNames: ['tenant', 'source'] as const,
      registers: [registry],
    }),
    itemsDropped: new Counter({
      name: 'pharos_items_dropped_total',
      help: 'Accepted items that a sink could not keep, by tenant, kind, sink and reason.',
      labelNames: ['tenant', 'kind', 'sink', 'reason'] as const,
      registers: [registry],
    }),
    sampledOut: new TalliedCounter({
      name: 'pharos_ingest_sampled_out_total',
      help: 'Ingest requests answered 202 without ingesting because their session is sampled out (the app samplingRate), by tenant and where the session id was read (header: before the body; body: after parsing).',
      labelNames: ['tenant', 'from'] as const,
      registers: [registry],
    }),
    idempotencyRequests: new TalliedCounter({
      name: 'pharos_idempotency_requests_total',
      help: 'Ingest requests by what their Idempotency-Key did: absent, invalid (ignored), new, duplicate (answered 202, not ingested again), in_progress (answered 503).',
      labelNames: ['tenant', 'outcome'] as const,
      registers: [registry],
    }),
    idempotencyFallbacks: new Counter({
      name: 'pharos_idempotency_fallbacks_total',
      help: "Idempotency store operations served from this replica's memory because Redis failed or was recently unreachable.",
      registers: [registry],
    }),
    sinkQueueBytes: new Gauge({
      name: 'pharos_sink_queue_bytes',
      help: 'Units waiting in a sink queue, in memory or in its spool on disk.',
      labelNames: ['sink', 'tenant', 'where'] as const,
      registers: [registry],
      // The queues change on every request; setting the gauge then cost two label hashes per
      // sink per request. Each queue reports here instead, when the gauge is read.
      collect() {
        for (const report of sinkQueueReporters) report();
      },
    }),
    /** Called when `pharos_sink_queue_bytes` is read: each sets its queue's children. */
    sinkQueueReporters,
    deliverySharedBytes: new Gauge({
      name: 'pharos_delivery_shared_bytes',
      help: 'Bytes counted against the bounds all tenants share: `memory`, in memory queues (delivery.maxMemoryBytes); `waiting`, waiting for a batch to fill (delivery.maxWaitingBytes).',
      labelNames: ['bound'] as const,
      registers: [registry],
      collect() {
        for (const report of deliverySharedReporters) report();
      },
    }),
    /** Called when `pharos_delivery_shared_bytes` is read (the sink router sets both children). */
    deliverySharedReporters,
    sinkItemsDelivered: new Counter({
      name: 'pharos_sink_items_delivered_total',
      help: 'Items a backend confirmed, by sink, tenant and kind.',
      labelNames: ['sink', 'tenant', 'kind'] as const,
      registers: [registry],
    }),
    sinkItemsRedelivered: new Counter({
      name: 'pharos_sink_items_redelivered_total',
      help: 'Items sent again after a restart because their delivery was not yet recorded (at-least-once: possible duplicates).',
      labelNames: ['sink', 'tenant', 'kind'] as const,
      registers: [registry],
    }),
    sinkRequests: new Counter({
      name: 'pharos_sink_requests_total',
      help: 'Pushes to a backend, by outcome (delivered, retry, rejected) and reason.',
      labelNames: ['sink', 'tenant', 'outcome', 'reason'] as const,
      registers: [registry],
    }),
    sinkRequestDuration: new Histogram({
      name: 'pharos_sink_request_duration_seconds',
      help: 'Duration of one push to a backend.',
      labelNames: ['sink', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    storeQueueBytes: new Gauge({
      name: 'pharos_store_queue_bytes',
      help: 'Accepted data waiting to be written to the embedded store.',
      registers: [registry],
    }),
    storeWriteDuration: new Histogram({
      name: 'pharos_store_write_duration_seconds',
      help: 'Duration of one store write transaction.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    storeItemsWritten: new Counter({
      name: 'pharos_store_items_written_total',
      help: 'Items written to the embedded store, by kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    storeItemsDeleted: new Counter({
      name: 'pharos_store_items_deleted_total',
      help: 'Items removed from the embedded store by retention, by reason (age, size).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    storeSizeBytes: new Gauge({
      name: 'pharos_store_size_bytes',
      help: 'Bytes used by the embedded store database (pages in use).',
      registers: [registry],
      aggregator: 'max', // one database shared by every worker
    }),
    registryApps: new Gauge({
      name: 'pharos_registry_apps',
      help: 'Apps in the registry cache.',
      registers: [registry],
      aggregator: 'max', // every worker caches the same registry
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
