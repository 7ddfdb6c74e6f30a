import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createInternalServer } from '../../src/admin/server.js';
import { registerSourcemapRoutes } from '../../src/admin/routes/sourcemap-routes.js';
import {
  createSourcemapSymbolication,
  openSqliteSourceMapStore,
  SOURCEMAP_DEFAULTS,
  type SourcemapOptions,
  type Sourcemaps,
  type SourceMapStore,
} from '../../src/enrich/sourcemaps/index.js';
import { createMetrics, type Metrics } from '../../src/metrics/index.js';
import { Registry, openSqliteRegistry } from '../../src/registry/index.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';

export const FIXTURE_BUNDLE = '1795573532342c4542cc2fb';
export const FIXTURE_MAP_FILE = fileURLToPath(new URL('app.min.js.map', FIXTURES_DIR));
export const FIXTURE_MAP_SHA256 =
  '6b6d0ca1d240a9fa682e87ec05087e7c46e329571ee0707f489fd578a820e950';
export const fixtureMap = (): Buffer => readFileSync(FIXTURE_MAP_FILE);

/** The real internal listener (auth hook, error handler) with the source-map routes plugged in. */
export interface SourcemapHarness {
  url: string;
  dataDir: string;
  registry: Registry;
  store: SourceMapStore;
  metrics: Metrics;
  sourcemaps: Sourcemaps;
  server: FastifyInstance;
  tokens: {
    admin: string;
    captureApp: string;
    captureTenant: string;
    otherApp: string;
    otherTenant: string;
    errorPages: string;
  };
  /** Headers of every request the listener received, in order. */
  seen: { url: string; headers: Record<string, unknown> }[];
  close(): Promise<void>;
}

/**
 * Tenants `capture` (apps `capture-app`, the fixtures' app, and `error-pages`) and `other`
 * (app `other-app`), a token per scope, the store on the same registry.db.
 */
export async function startSourcemapHarness(
  options: Partial<Omit<SourcemapOptions, 'store' | 'metricsRegistry'>> = {},
): Promise<SourcemapHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pharos-sourcemaps-'));
  const file = join(dataDir, 'registry.db');
  const registry = new Registry(openSqliteRegistry(file));
  await registry.refresh(true);
  await registry.createTenant({ id: 'capture' });
  await registry.createTenant({ id: 'other' });
  await registry.createApp({ id: 'capture-app', tenantId: 'capture', name: 'capture-app' });
  await registry.createApp({ id: 'error-pages', tenantId: 'capture', name: 'error pages' });
  await registry.createApp({ id: 'other-app', tenantId: 'other', name: 'other' });
  const token = async (scopes: string[]) =>
    (await registry.createToken(scopes.join(','), scopes)).token;
  const tokens = {
    admin: await token(['admin']),
    captureApp: await token(['sourcemaps:capture-app']),
    captureTenant: await token(['tenant:capture']),
    otherApp: await token(['sourcemaps:other-app']),
    otherTenant: await token(['tenant:other']),
    errorPages: await token(['sourcemaps:error-pages']),
  };

  const store = openSqliteSourceMapStore(file);
  const metrics = createMetrics('test');
  const sourcemaps = createSourcemapSymbolication({
    store,
    metricsRegistry: metrics.registry,
    ...options,
  });
  const seen: SourcemapHarness['seen'] = [];
  const server = await createInternalServer({
    registry,
    store: undefined,
    metrics,
    logger: pino({ level: process.env.PHAROS_TEST_LOG ?? 'silent' }),
    staticAdminToken: '',
    isReady: () => true,
    defaultKeyGraceMs: 0,
    publicUrl: 'http://127.0.0.1:1',
    plugins: [
      (app) => {
        app.addHook('onRequest', (request, _reply, done) => {
          seen.push({ url: request.url, headers: { ...request.headers } });
          done();
        });
      },
      (app) =>
        registerSourcemapRoutes(app, {
          registry,
          staticAdminToken: '',
          store,
          limits: {
            maxMapBytes: SOURCEMAP_DEFAULTS.maxMapBytes,
            maxTarballBytes: SOURCEMAP_DEFAULTS.maxMapBytes,
            bodyTimeoutMs: 10_000,
          },
          onChange: (appId, bundleId) => sourcemaps.forgetBundle(appId, bundleId),
        }),
    ],
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    registry,
    store,
    metrics,
    sourcemaps,
    server,
    tokens,
    seen,
    async close() {
      await server.close();
      await store.close();
      await registry.store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The value of one series of a metric, from the registry (0 when absent). */
export async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((value) =>
    Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted),
  );
  return match?.value ?? 0;
}
