/**
 * `npm run bench:stages`: CPU microseconds per request of each pipeline stage, in process and
 * without HTTP, on the same simulated sessions as `npm run bench`. It assembles the stages the way
 * src/app/pharos.ts does (keep them in line), runs the request mix through them, times every stage
 * and reports the median over rounds. On a noisy machine this is steadier than a load test, and
 * it tells the stages apart, which a throughput figure cannot.
 *
 *   npx tsx bench/stages.ts [--rounds 7] [--sessions 200] [--gzip 0.1] [--clock cpu|wall] [--json]
 *
 * `--clock cpu` (the default) times stages with the process's CPU time (getrusage), which other
 * processes on a busy machine do not inflate the way they do wall time; it counts V8's helper
 * threads too (concurrent GC, compilation), and each reading costs about a microsecond, the same
 * for every stage and every checkout compared.
 *
 * What it does not see: Node's HTTP parsing and socket writes, the body stream, promises and
 * timers of the request, garbage collection caused by the load as a whole (see bench/profile.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Registry as PromRegistry } from 'prom-client';
import { validateConfig } from '../src/config/index.js';
import { parseJsonBody, validatePayload } from '../src/decode/index.js';
import { MemoryIdempotencyStore } from '../src/admission/idempotency/index.js';
import { createFingerprintEnricher, fingerprintLineKeys } from '../src/enrich/fingerprint/index.js';
import { createPrivacyEnricher } from '../src/enrich/privacy/index.js';
import {
  createSourcemapSymbolication,
  openSqliteSourceMapStore,
  sourcemapOptionsFrom,
} from '../src/enrich/sourcemaps/index.js';
import type { Enricher } from '../src/enrich/types.js';
import {
  createRandom,
  createRequestSource,
  loadSessionSteps,
  type GeneratedRequest,
} from '../src/loadgen/index.js';
import { createMetrics } from '../src/metrics/index.js';
import { countItemsByKind, type AcceptedBatch } from '../src/model/index.js';
import type { Unit } from '../src/sinks/delivery/types.js';
import { createLokiProtocol } from '../src/sinks/loki/index.js';
import { encodePushRequest } from '../src/sinks/loki/push-protobuf.js';
import { groupStreams } from '../src/sinks/loki/push-streams.js';
import type { LokiUnit } from '../src/sinks/loki/unit.js';
import { createMetricsSink } from '../src/sinks/metrics/index.js';
import { encodeTraceRequest } from '../src/sinks/otlp/codec.js';
import { mergeResourceSpans } from '../src/sinks/otlp/merge.js';
import { createTracesProtocol, type TracesUnitValue } from '../src/sinks/otlp/index.js';
import { compress as compressSnappy } from 'snappyjs';
import { gzipSync } from 'node:zlib';
import { VERSION } from '../src/version.js';
import { FIXTURE_BUNDLE_ID } from './lib/pharos-instance.js';
import { median, round } from './lib/stats.js';

const FIXTURES = new URL('../test/fixtures/faro-sdk-2.12/', import.meta.url);
/** Units per push in the amortised encoding stages (a push every ~1 s at ~10k req/s is larger). */
const UNITS_PER_PUSH = 500;

type StageName =
  | 'baseline: JSON.parse only (the bare server)'
  | 'idempotency: claim + confirm (store full)'
  | 'decode: inflate (gzip share)'
  | 'decode: UTF-8, depth, JSON.parse'
  | 'decode: Faro model validation'
  | 'enrich: symbolication (warm)'
  | 'enrich: privacy rules'
  | 'enrich: fingerprints'
  | 'Loki: lines, labels (select)'
  | 'OTLP: resource attributes (select)'
  | 'web-vitals metrics sink'
  | 'pipeline: item counters'
  | 'http: request metrics'
  | 'Loki: push encoding (amortised)'
  | 'OTLP: push encoding (amortised)';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '7' },
      sessions: { type: 'string', default: '200' },
      gzip: { type: 'string', default: '0.1' },
      json: { type: 'boolean', default: false },
      clock: { type: 'string', default: 'cpu' },
    },
  });
  if (values.clock !== 'cpu' && values.clock !== 'wall') throw new Error('--clock is cpu or wall');
  const now = values.clock === 'cpu' ? cpuNow : () => performance.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'pharos-stages-'));
  try {
    const requests = generateRequests(Number(values.sessions), Number(values.gzip));
    const stages = await assembleStages(dataDir);
    const rounds: Map<StageName, number>[] = [];
    // Round 0 warms the JIT and the source-map cache; it is not counted.
    for (let index = 0; index <= Number(values.rounds); index++) {
      const times = await runRound(stages, requests, now);
      if (index > 0) rounds.push(times);
    }
    const report = [...(rounds[0]?.keys() ?? [])].map((stage) => ({
      stage,
      microsPerRequest: round(median(rounds.map((times) => times.get(stage) ?? NaN)), 2),
    }));
    const total = report
      .filter((line) => !line.stage.startsWith('baseline'))
      .reduce((sum, line) => sum + line.microsPerRequest, 0);
    if (values.json) {
      console.log(JSON.stringify({ requests: requests.length, stages: report, total }, null, 2));
      return;
    }
    console.log(`${requests.length} requests a round, median of ${rounds.length} rounds\n`);
    console.log('| stage | µs/request |\n| --- | ---: |');
    for (const line of report)
      console.log(`| ${line.stage} | ${line.microsPerRequest.toFixed(2)} |`);
    console.log(`| **total (without the baseline)** | **${total.toFixed(2)}** |`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The bench's request mix: the simulated sessions' bodies, with their encoding. */
function generateRequests(sessions: number, gzipShare: number): GeneratedRequest[] {
  const source = createRequestSource({
    steps: loadSessionSteps(),
    apps: [{ key: 'bench-key-0123456789abcdef', origin: 'http://127.0.0.1:5600' }],
    sessions,
    gzipShare,
    keyPlacement: 'path',
    collectPath: '/collect',
    random: createRandom(42),
  });
  return Array.from({ length: sessions * 17 }, () => source.next());
}

interface Stages {
  readonly enrichers: { readonly name: StageName; readonly enricher: Enricher }[];
  readonly lokiSelect: (batch: AcceptedBatch) => Unit<LokiUnit> | undefined;
  readonly tracesSelect: (batch: AcceptedBatch) => Unit<TracesUnitValue> | undefined;
  readonly metricsOffer: (batch: AcceptedBatch) => void;
  readonly metrics: ReturnType<typeof createMetrics>;
  readonly idempotency: MemoryIdempotencyStore;
}

/** The stages as src/app/pharos.ts builds them, with the default configuration. */
async function assembleStages(dataDir: string): Promise<Stages> {
  const config = validateConfig({ dataDir });
  const metrics = createMetrics(VERSION);
  const logger = pino({ level: 'silent' });
  const store = openSqliteSourceMapStore(join(dataDir, 'registry.db'));
  await store.put(
    [
      {
        appId: 'bench-app',
        bundleId: FIXTURE_BUNDLE_ID,
        file: 'app.min.js',
        content: readFileSync(new URL('app.min.js.map', FIXTURES)),
      },
    ],
    'bench',
  );
  const sourcemaps = createSourcemapSymbolication(
    sourcemapOptionsFrom(config.sourcemaps, { store, metricsRegistry: metrics.registry, logger }),
  );
  const enrichers: Stages['enrichers'] = [
    { name: 'enrich: symbolication (warm)', enricher: sourcemaps.enricher },
    {
      name: 'enrich: privacy rules',
      enricher: createPrivacyEnricher({
        global: config.privacy,
        onRedactions: (tenant, rule, count) =>
          metrics.privacyRedactions.labels(tenant, rule).inc(count),
      }),
    },
    {
      name: 'enrich: fingerprints',
      enricher: createFingerprintEnricher({
        maxFrames: config.grouping.maxFrames,
        libraryPatterns: [],
        onFingerprint: (tenant, source) => metrics.errorFingerprints.labels(tenant, source).inc(),
      }),
    },
  ];
  const loki = createLokiProtocol({
    url: 'http://127.0.0.1:9',
    orgId: 'bench',
    trailingKeys: fingerprintLineKeys,
    appName: () => 'bench-app',
  });
  const traces = createTracesProtocol({ url: 'http://127.0.0.1:9', orgId: 'bench' });
  const metricsSink = createMetricsSink({}, { registry: new PromRegistry(), logger });
  // Full, as on a replica that has been up for a while: every SDK request brings a fresh key.
  const idempotency = new MemoryIdempotencyStore({ maxKeys: config.idempotency.maxKeys });
  for (let index = 0; index < config.idempotency.maxKeys; index++)
    await idempotency.confirm(`bench-app:prefill-${index}`, config.idempotency.window);
  return {
    idempotency,
    enrichers,
    lokiSelect: (batch) => loki.select(batch),
    tracesSelect: (batch) => traces.select(batch),
    metricsOffer: (batch) => metricsSink.offer(batch),
    metrics,
  };
}

let freshKeys = 0;

/** One pass over the mix; returns µs per request of every stage. */
async function runRound(
  stages: Stages,
  requests: readonly GeneratedRequest[],
  now: () => number,
): Promise<Map<StageName, number>> {
  const total = new Map<StageName, number>();
  const time = <T>(stage: StageName, work: () => T): T => {
    const started = now();
    const result = work();
    total.set(stage, (total.get(stage) ?? 0) + now() - started);
    return result;
  };
  let lokiUnits: LokiUnit[] = [];
  let traceUnits: TracesUnitValue[] = [];
  const requestCounter = stages.metrics.httpRequests;
  const requestDuration = stages.metrics.httpDuration.labels('public', '/collect/:appKey');

  for (const request of requests) {
    time('baseline: JSON.parse only (the bare server)', (): unknown =>
      JSON.parse((request.gzip ? gunzipSync(request.body) : request.body).toString('utf8')),
    );
    const idempotencyKey = `bench-app:key-${freshKeys++}`;
    const started = now();
    await stages.idempotency.claim(idempotencyKey, 'token', 30_000);
    await stages.idempotency.confirm(idempotencyKey, 600_000);
    total.set(
      'idempotency: claim + confirm (store full)',
      (total.get('idempotency: claim + confirm (store full)') ?? 0) + now() - started,
    );
    const body = time('decode: inflate (gzip share)', () =>
      request.gzip ? gunzipSync(request.body) : request.body,
    );
    const parsed = time('decode: UTF-8, depth, JSON.parse', () => parseJsonBody(body, 64));
    const { payload, itemCount } = time('decode: Faro model validation', () =>
      validatePayload(parsed, 5000),
    );
    const batch: AcceptedBatch = {
      tenantId: 'bench',
      appId: 'bench-app',
      receivedAt: Date.now(),
      payload,
      itemCount,
      bytes: body.length,
    };
    for (const { name, enricher } of stages.enrichers) {
      const started = now();
      const pending = enricher.enrich(batch);
      if (pending) await pending; // only while a map loads (round 0)
      total.set(name, (total.get(name) ?? 0) + now() - started);
    }
    const lokiUnit = time('Loki: lines, labels (select)', () => stages.lokiSelect(batch));
    const traceUnit = time('OTLP: resource attributes (select)', () => stages.tracesSelect(batch));
    time('web-vitals metrics sink', () => stages.metricsOffer(batch));
    time('pipeline: item counters', () => {
      const counts = countItemsByKind(payload);
      for (const kind in counts) {
        const count = counts[kind as keyof typeof counts];
        if (count > 0) stages.metrics.itemsReceived.labels(batch.tenantId, kind).inc(count);
      }
    });
    time('http: request metrics', () => {
      requestCounter.labels('public', '/collect/:appKey', '202', '').inc();
      requestDuration.observe(0.001);
    });

    if (lokiUnit) lokiUnits.push(lokiUnit.value);
    if (traceUnit) traceUnits.push(traceUnit.value);
    if (lokiUnits.length >= UNITS_PER_PUSH) {
      const units = lokiUnits;
      time('Loki: push encoding (amortised)', () =>
        compressSnappy(encodePushRequest(groupStreams(units), true)),
      );
      lokiUnits = [];
    }
    if (traceUnits.length >= UNITS_PER_PUSH / 10) {
      const units = traceUnits;
      time('OTLP: push encoding (amortised)', () =>
        gzipSync(encodeTraceRequest(mergeResourceSpans(units), 'protobuf')),
      );
      traceUnits = [];
    }
  }
  const perRequest = new Map<StageName, number>();
  for (const [stage, ms] of total) perRequest.set(stage, (ms * 1000) / requests.length);
  return perRequest;
}

/** Milliseconds of CPU this process has used (user + system). */
function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
