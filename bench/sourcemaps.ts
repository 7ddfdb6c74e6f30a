/**
 * Source-map benchmark: `npx tsx bench/sourcemaps.ts`.
 *
 * - warm symbolication throughput: the five captured exception payloads (15 frames in the
 *   minified bundle, 20 with a position) through the enricher, maps cached: frames per second;
 * - cold-map latency: reading the fixture map (2 MB, 57k segments) back from the store
 *   (SQLite + inflate) and parsing it (JSON + decode), as a lookup does when the cache misses.
 *
 * Prints a table and writes bench/results/sourcemaps-<date>.json. CI never asserts timings.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry as PromRegistry } from 'prom-client';
import {
  SourceMapCache,
  createSourcemapSymbolication,
  openSqliteSourceMapStore,
} from '../src/enrich/sourcemaps/index.js';
import {
  estimateHeapBytes,
  parseSourceMapJson,
  toTraceMap,
} from '../src/enrich/sourcemaps/source-map-text.js';
import type { AcceptedBatch, FaroPayload } from '../src/model/index.js';

const FIXTURES = new URL('../test/fixtures/faro-sdk-2.12/', import.meta.url);
const EXCEPTION_FIXTURES = [
  '02-main-console--log_info+log_warn+exc_Error.json',
  '03-main-console-error-object--exc_RangeError.json',
  '05-main-pushError--exc_Error.json',
  '06-main-uncaught-error--exc_Error.json',
  '07-main-unhandled-rejection--exc_TypeError.json',
];
const BUNDLE = '1795573532342c4542cc2fb';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pharos-bench-sourcemaps-'));
  const store = openSqliteSourceMapStore(join(dataDir, 'registry.db'));
  const mapText = readFileSync(new URL('app.min.js.map', FIXTURES));
  await store.put(
    [{ appId: 'capture-app', bundleId: BUNDLE, file: 'app.min.js', content: mapText }],
    'bench',
  );
  const payloads = EXCEPTION_FIXTURES.map(
    (file) => JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as FaroPayload,
  );
  const batchOf = (payload: FaroPayload): AcceptedBatch => ({
    tenantId: 'capture',
    appId: 'capture-app',
    receivedAt: 0,
    payload: structuredClone(payload),
    itemCount: 1,
    bytes: 1,
  });

  // --- warm throughput ---
  const registry = new PromRegistry();
  const { enricher } = createSourcemapSymbolication({ store, metricsRegistry: registry });
  for (const payload of payloads) await enricher.enrich(batchOf(payload)); // warm up the cache
  const framesPerRound = payloads
    .flatMap((payload) => payload.exceptions ?? [])
    .flatMap((exception) => exception.stacktrace?.frames ?? [])
    .filter((frame) => frame.filename?.endsWith('/dist/app.min.js') && frame.colno).length;
  const rounds = 4000;
  const runs: number[] = [];
  // Run 0 warms up the JIT and is not counted.
  for (let run = 0; run <= 5; run++) {
    const batches = Array.from({ length: rounds }, (_, index) =>
      batchOf(payloads[index % payloads.length] as FaroPayload),
    );
    const started = performance.now();
    for (const batch of batches) {
      const pending = enricher.enrich(batch);
      if (pending) throw new Error('the warm path must be synchronous');
    }
    const seconds = (performance.now() - started) / 1000;
    runs.push((framesPerRound * rounds) / payloads.length / seconds);
  }
  runs.sort((a, b) => a - b);
  const warmFramesPerSecond = percentile(runs, 50);

  // --- cold-map latency: store read (SQLite + inflate) + parse (JSON + decode) ---
  const key = { appId: 'capture-app', bundleId: BUNDLE, file: 'app.min.js' };
  const reads: number[] = [];
  const parses: number[] = [];
  const loads: number[] = [];
  for (let run = 0; run < 30; run++) {
    let started = performance.now();
    const text = await store.read(key);
    if (!text) throw new Error('the map is gone');
    reads.push(performance.now() - started);
    started = performance.now();
    toTraceMap(parseSourceMapJson(text));
    parses.push(performance.now() - started);
    // The whole cold path through the cache (a fresh cache each time).
    const cache = new SourceMapCache({ maxBytes: 256 * 1024 * 1024 });
    started = performance.now();
    await cache.load('k', async () => ({ text: (await store.read(key)) as Buffer }));
    loads.push(performance.now() - started);
  }
  for (const series of [reads, parses, loads]) series.sort((a, b) => a - b);

  const estimate = estimateHeapBytes(parseSourceMapJson(mapText), mapText.length);
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    fixtureMap: {
      bytes: mapText.length,
      storedBytes: (await store.info(key))?.storedBytes,
      estimatedHeapBytes: estimate,
    },
    warm: {
      framesPerRound,
      batches: rounds,
      framesPerSecondP50: Math.round(warmFramesPerSecond),
      framesPerSecondMin: Math.round(runs[0] ?? NaN),
      framesPerSecondMax: Math.round(runs[runs.length - 1] ?? NaN),
    },
    coldMs: {
      storeReadP50: round(percentile(reads, 50)),
      storeReadP95: round(percentile(reads, 95)),
      parseP50: round(percentile(parses, 50)),
      parseP95: round(percentile(parses, 95)),
      loadP50: round(percentile(loads, 50)),
      loadP95: round(percentile(loads, 95)),
    },
  };

  console.log(`source maps — ${results.node}, ${results.cpu} (${results.cores} cores)`);
  console.table({
    'warm symbolication (frames/s, p50 of 5 runs)': { value: results.warm.framesPerSecondP50 },
    'warm symbolication (frames/s, min)': { value: results.warm.framesPerSecondMin },
    'cold: store read, ms p50 / p95': {
      value: `${results.coldMs.storeReadP50} / ${results.coldMs.storeReadP95}`,
    },
    'cold: parse + decode, ms p50 / p95': {
      value: `${results.coldMs.parseP50} / ${results.coldMs.parseP95}`,
    },
    'cold: cache load (read + parse), ms p50 / p95': {
      value: `${results.coldMs.loadP50} / ${results.coldMs.loadP95}`,
    },
    'fixture map: bytes / stored / charged heap': {
      value: `${mapText.length} / ${results.fixtureMap.storedBytes} / ${estimate}`,
    },
  });

  const dir = fileURLToPath(new URL('results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sourcemaps-${results.date.slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file}`);
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
