import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry as PromRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSourcemapSymbolication,
  openSqliteSourceMapStore,
  type SourceMapStore,
  type Sourcemaps,
} from '../../src/enrich/sourcemaps/index.js';
import {
  estimateHeapBytes,
  parseSourceMapJson,
} from '../../src/enrich/sourcemaps/source-map-text.js';
import type { AcceptedBatch } from '../../src/model/index.js';

const MiB = 1024 * 1024;

/**
 * A valid map for `file`: `segments` mappings on line 1 (column i → source line i), and
 * `padding` bytes of sourcesContent (what makes real maps big, and what Pharos drops).
 */
function syntheticMap(
  file: string,
  segments: number,
  padding = 0,
  source = `src/${file}.ts`,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: 3,
      file,
      sources: [source],
      names: [],
      mappings: `AAAA${',CACA'.repeat(segments - 1)}`,
      sourcesContent: ['x'.repeat(padding)],
    }),
  );
}

function batch(bundleId: string, file: string, colno = 1): AcceptedBatch {
  return {
    tenantId: 'shop',
    appId: 'web',
    receivedAt: 0,
    itemCount: 1,
    bytes: 1,
    payload: {
      meta: { app: { name: 'web', bundleId } },
      exceptions: [
        {
          type: 'Error',
          value: 'boom',
          stacktrace: {
            frames: [{ filename: `https://shop.example/${file}`, function: 'f', lineno: 1, colno }],
          },
        },
      ],
    },
  };
}

async function frameCount(registry: PromRegistry, result: string): Promise<number> {
  const metric = await registry.getSingleMetric('pharos_sourcemap_frames_total')?.get();
  return metric?.values.find((value) => value.labels.result === result)?.value ?? 0;
}

describe('memory: parsed maps stay under the cache bound', () => {
  let dataDir: string;
  let store: SourceMapStore;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'pharos-memory-'));
    store = openSqliteSourceMapStore(join(dataDir, 'maps.db'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const symbolication = (cacheMaxBytes: number, registry = new PromRegistry()) => ({
    registry,
    sourcemaps: createSourcemapSymbolication({ store, metricsRegistry: registry, cacheMaxBytes }),
  });

  it('a 20 MB map fits the default 256 MiB cache at its estimated heap, and a 32 MiB cache refuses it cleanly', async () => {
    // 16 MB of sources text and 4 MB of mappings (~800,000 segments): ~85 MB once decoded.
    const map = syntheticMap('big.min.js', 800_000, 16 * MiB);
    expect(map.length).toBeGreaterThan(20 * 1000 * 1000);
    await store.put([{ appId: 'web', bundleId: 'big', file: 'big.min.js', content: map }], 'test');
    const estimate = estimateHeapBytes(parseSourceMapJson(map), map.length);

    const heapBefore = process.memoryUsage().heapUsed;
    const fits = symbolication(256 * MiB);
    const resolved = batch('big', 'big.min.js', 1001);
    await fits.sourcemaps.enricher.enrich(resolved);
    expect(resolved.payload.exceptions?.[0]?.stacktrace?.frames?.[0]).toMatchObject({
      filename: 'src/big.min.js.ts',
      lineno: 1001,
      colno: 1,
    });
    expect(fits.sourcemaps.cache.bytes).toBe(estimate);
    expect(estimate).toBeGreaterThan(60 * MiB);
    expect(estimate).toBeLessThan(120 * MiB);
    // Loosely: the heap grew by about the estimate, not by the JSON size or by multiples of it.
    const grown = process.memoryUsage().heapUsed - heapBefore;
    expect(grown).toBeLessThan(estimate * 2 + 64 * MiB);

    const refuses = symbolication(32 * MiB);
    const kept = batch('big', 'big.min.js', 1001);
    await refuses.sourcemaps.enricher.enrich(kept);
    expect(kept.payload.exceptions?.[0]?.stacktrace?.frames?.[0]).toMatchObject({
      lineno: 1,
      colno: 1001,
    });
    expect(await frameCount(refuses.registry, 'map_too_large')).toBe(1);
    expect(refuses.sourcemaps.cache.bytes).toBe(0);
  });

  it('1,000 distinct bundles, all cold at once, through a 16 MiB cache', async () => {
    const bundles = Array.from({ length: 1000 }, (_, index) => `b${index}`);
    // ~110 KB charged each (1,000 segments), distinct content (maps are cached by content hash):
    // 1,000 of them are 7 times the bound.
    await store.put(
      bundles.map((bundleId) => ({
        appId: 'web',
        bundleId,
        file: 'app.js',
        content: syntheticMap('app.js', 1000, 0, `src/${bundleId}.ts`),
      })),
      'test',
    );
    const { registry, sourcemaps } = symbolication(16 * MiB);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, sourcemaps.cache.bytes)), 1);
    const batches = bundles.map((bundleId) => batch(bundleId, 'app.js', 7));
    await Promise.all(batches.map(async (each) => sourcemaps.enricher.enrich(each)));
    clearInterval(sampler);

    expect(await frameCount(registry, 'resolved')).toBe(1000);
    expect(peak).toBeLessThanOrEqual(16 * MiB);
    expect(sourcemaps.cache.bytes).toBeLessThanOrEqual(16 * MiB);
    const charge = estimateHeapBytes(
      parseSourceMapJson(syntheticMap('app.js', 1000, 0, 'src/b500.ts')),
      syntheticMap('app.js', 1000, 0, 'src/b500.ts').length,
    );
    expect(Math.abs(sourcemaps.cache.size - Math.floor((16 * MiB) / charge))).toBeLessThanOrEqual(
      1,
    );
    const evictions = await registry
      .getSingleMetric('pharos_sourcemap_cache_evictions_total')
      ?.get();
    expect(evictions?.values[0]?.value).toBe(1000 - sourcemaps.cache.size);
    expect(process.memoryUsage().heapUsed).toBeLessThan(1024 * MiB);
  });

  it('concurrent cold lookups of one map read and parse it once', async () => {
    await store.put(
      [{ appId: 'web', bundleId: 'hot', file: 'hot.js', content: syntheticMap('hot.js', 50_000) }],
      'test',
    );
    let reads = 0;
    const counting: SourceMapStore = {
      ...store,
      read: (key) => {
        reads += 1;
        return store.read(key);
      },
    };
    const registry = new PromRegistry();
    const sourcemaps: Sourcemaps = createSourcemapSymbolication({
      store: counting,
      metricsRegistry: registry,
    });
    const batches = Array.from({ length: 200 }, (_, index) => batch('hot', 'hot.js', index + 1));
    await Promise.all(batches.map(async (each) => sourcemaps.enricher.enrich(each)));
    expect(reads).toBe(1);
    expect(await frameCount(registry, 'resolved')).toBe(200);
    expect(sourcemaps.cache.size).toBe(1);
    // Warm now: symbolication no longer waits for anything.
    expect(sourcemaps.enricher.enrich(batch('hot', 'hot.js', 3))).toBeUndefined();
  });
});
