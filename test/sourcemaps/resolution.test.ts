import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry as PromRegistry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FRAME_RESULTS,
  createSourcemapSymbolication,
  openSqliteSourceMapStore,
  type SourcemapOptions,
  type SourceMapStore,
} from '../../src/enrich/sourcemaps/index.js';
import {
  EXCEPTION_FIXTURES,
  MINIFIED_URL,
  enrichFixtures,
  expectFramesMatchTraceMapping,
  fixtureBatch,
  framesOf,
  minifiedFrameCount,
} from './fixture-frames.js';
import { FIXTURE_BUNDLE, FIXTURE_MAP_FILE, fixtureMap } from './harness.js';

async function frameResults(registry: PromRegistry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('pharos_sourcemap_frames_total')?.get();
  return Object.fromEntries(
    (metric?.values ?? []).map((value) => [String(value.labels.result), value.value]),
  );
}

/** Frames of the fixtures that have a position but are outside the bundle (eval in the page). */
const pageFrameCount = () =>
  EXCEPTION_FIXTURES.map((file) => fixtureBatch(file))
    .flatMap(framesOf)
    .filter((frame) => frame.filename !== MINIFIED_URL && frame.filename?.startsWith('http'))
    .length;

describe('resolution order, caching and metrics', () => {
  let dataDir: string;
  let store: SourceMapStore;
  let now = 1_000_000;
  const make = (options: Partial<SourcemapOptions> = {}) => {
    const registry = new PromRegistry();
    const sourcemaps = createSourcemapSymbolication({
      store,
      metricsRegistry: registry,
      clock: () => now,
      ...options,
    });
    return { registry, sourcemaps };
  };

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'pharos-resolution-'));
    store = openSqliteSourceMapStore(join(dataDir, 'maps.db'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await store.delete('capture-app', FIXTURE_BUNDLE);
  });

  it('counts every frame with a position, once, by result; exports every result from the start', async () => {
    const { registry, sourcemaps } = make();
    expect(Object.keys(await frameResults(registry)).sort()).toEqual([...FRAME_RESULTS].sort());
    await store.put(
      [
        {
          appId: 'capture-app',
          bundleId: FIXTURE_BUNDLE,
          file: 'app.min.js',
          content: fixtureMap(),
        },
      ],
      'test',
    );
    await enrichFixtures(sourcemaps.enricher);
    expect(await frameResults(registry)).toMatchObject({
      resolved: minifiedFrameCount(),
      no_map: pageFrameCount(),
      no_mapping: 0,
      error: 0,
    });
    const exposition = await registry.metrics();
    for (const name of [
      'pharos_sourcemap_cache_bytes',
      'pharos_sourcemap_cache_entries 1',
      'pharos_sourcemap_cache_hits_total',
      'pharos_sourcemap_cache_misses_total',
      'pharos_sourcemap_cache_evictions_total 0',
      'pharos_sourcemap_load_duration_seconds_count 1',
    ])
      expect(exposition).toContain(name);
  });

  it('is synchronous once warm, asynchronous while a map loads', async () => {
    const { sourcemaps } = make();
    await store.put(
      [
        {
          appId: 'capture-app',
          bundleId: FIXTURE_BUNDLE,
          file: 'app.min.js',
          content: fixtureMap(),
        },
      ],
      'test',
    );
    const cold = sourcemaps.enricher.enrich(fixtureBatch(EXCEPTION_FIXTURES[2] as string));
    expect(cold).toBeInstanceOf(Promise);
    await cold;
    const warm = fixtureBatch(EXCEPTION_FIXTURES[2] as string);
    expect(sourcemaps.enricher.enrich(warm)).toBeUndefined();
    expect(expectFramesMatchTraceMapping([warm])).toBeGreaterThan(0);
  });

  it('remembers "no map" for recheckMs; an upload on this replica is seen at once', async () => {
    const { registry, sourcemaps } = make({ recheckMs: 30_000 });
    const lookup = () =>
      Promise.resolve(
        sourcemaps.resolver.lookup(
          { tenantId: 'capture', appId: 'capture-app', bundleId: FIXTURE_BUNDLE },
          MINIFIED_URL,
        ),
      );
    expect(await lookup()).toEqual({ failure: 'no_map' });
    await store.put(
      [
        {
          appId: 'capture-app',
          bundleId: FIXTURE_BUNDLE,
          file: 'app.min.js',
          content: fixtureMap(),
        },
      ],
      'test',
    );
    // Another replica's upload: still "no map" until the recheck…
    expect(await lookup()).toEqual({ failure: 'no_map' });
    now += 30_001;
    expect(await lookup()).toHaveProperty('map');
    // …and a delete through this replica's routes (onChange → forgetBundle) is seen at once.
    await store.delete('capture-app', FIXTURE_BUNDLE);
    sourcemaps.forgetBundle('capture-app', FIXTURE_BUNDLE);
    expect(await lookup()).toEqual({ failure: 'no_map' });
    expect((await frameResults(registry)).resolved).toBe(0); // lookups alone count nothing
  });

  it('an upload during a cold lookup is not hidden by what that lookup found', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const gated: SourceMapStore = {
      ...store,
      info: async (key) => {
        const info = await store.info(key);
        await gate;
        return info;
      },
    };
    const { sourcemaps } = make({ store: gated });
    const context = { tenantId: 'capture', appId: 'capture-app', bundleId: FIXTURE_BUNDLE };
    const first = sourcemaps.resolver.lookup(context, MINIFIED_URL);
    await new Promise((resolve) => setImmediate(resolve));
    await store.put(
      [
        {
          appId: 'capture-app',
          bundleId: FIXTURE_BUNDLE,
          file: 'app.min.js',
          content: fixtureMap(),
        },
      ],
      'test',
    );
    sourcemaps.forgetBundle('capture-app', FIXTURE_BUNDLE);
    open();
    expect(await first).toEqual({ failure: 'no_map' });
    expect(await sourcemaps.resolver.lookup(context, MINIFIED_URL)).toHaveProperty('map');
  });

  it('without a bundle id, uploads are not consulted; a configured directory is', async () => {
    await store.put(
      [
        {
          appId: 'capture-app',
          bundleId: FIXTURE_BUNDLE,
          file: 'app.min.js',
          content: fixtureMap(),
        },
      ],
      'test',
    );
    const withoutBundle = () => {
      const batch = fixtureBatch(EXCEPTION_FIXTURES[2] as string);
      delete batch.payload.meta?.app?.bundleId;
      return batch;
    };
    const bare = make();
    await bare.sourcemaps.enricher.enrich(withoutBundle());
    expect((await frameResults(bare.registry)).resolved).toBe(0);

    const root = mkdtempSync(join(tmpdir(), 'pharos-maps-dir-'));
    try {
      mkdirSync(join(root, 'r42', 'dist'), { recursive: true });
      copyFileSync(FIXTURE_MAP_FILE, join(root, 'r42', 'dist', 'app.min.js.map'));
      const located = make({
        locations: [
          {
            path: join(root, '{release}'),
            minifiedPathPrefix: 'http://127.0.0.1:5600/',
            app: 'capture-app',
          },
        ],
      });
      const batch = withoutBundle();
      await located.sourcemaps.enricher.enrich(batch);
      expect(expectFramesMatchTraceMapping([batch])).toBe(4);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an invalid stored map counts invalid_map and leaves the frames alone', async () => {
    await store.put(
      [
        {
          appId: 'capture-app',
          bundleId: FIXTURE_BUNDLE,
          file: 'app.min.js',
          content: Buffer.from('{"version":3,"sources":"nope"}'),
        },
      ],
      'test',
    );
    const { registry, sourcemaps } = make();
    const batch = fixtureBatch(EXCEPTION_FIXTURES[2] as string);
    const before = structuredClone(batch.payload);
    await sourcemaps.enricher.enrich(batch);
    expect(batch.payload).toEqual(before);
    expect((await frameResults(registry)).invalid_map).toBe(4);
  });
});
