import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { openSqliteSourceMapStore } from '../../enrich/sourcemaps/index.js';
import { createMetrics } from '../../metrics/index.js';
import { Registry, openSqliteRegistry } from '../../registry/index.js';
import { registerDemoRoutes } from '../../ui/demo-routes.js';
import { VERSION } from '../../version.js';
import { createInternalServer } from '../server.js';

/** An OpenAPI 3.1 document, as much of it as Pharos reads. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths?: Record<string, Record<string, unknown> | undefined>;
}

/**
 * The internal listener with every optional part on (OTLP intake, source maps, demo page), on
 * in-memory databases, never listening: what docs/openapi.json describes.
 */
export async function createDocumentedServer(): Promise<{
  app: FastifyInstance;
  close: () => Promise<void>;
}> {
  const registry = new Registry(openSqliteRegistry(':memory:'));
  const sourceMaps = openSqliteSourceMapStore(':memory:');
  const publicUrl = 'http://127.0.0.1:12347';
  const app = await createInternalServer({
    registry,
    store: undefined,
    metrics: createMetrics(VERSION),
    logger: pino({ level: 'silent' }),
    staticAdminToken: '',
    isReady: () => true,
    defaultKeyGraceMs: 0,
    publicUrl,
    otlp: {
      accept: () => undefined,
      limits: { maxBodyBytes: 1, bodyTimeoutMs: 1, maxJsonDepth: 8, maxItemsPerRequest: 1 },
    },
    sourcemaps: {
      store: sourceMaps,
      limits: { maxMapBytes: 1, maxTarballBytes: 1, bodyTimeoutMs: 1 },
    },
    plugins: [
      (instance) =>
        registerDemoRoutes(instance, { publicUrl, demoKey: () => Promise.resolve(undefined) }),
    ],
  });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await sourceMaps.close();
      await registry.store.close();
    },
  };
}

/** The OpenAPI document of the internal listener. `npm run docs` writes it to docs/openapi.json. */
export async function buildOpenApiDocument(): Promise<OpenApiDocument> {
  const { app, close } = await createDocumentedServer();
  try {
    // A deep copy: the plugin caches the object it returns.
    return structuredClone(app.swagger()) as OpenApiDocument;
  } finally {
    await close();
  }
}

/** docs/openapi.json as checked in: formatted the way the repository's Prettier wants it. */
export async function renderOpenApiJson(document: OpenApiDocument): Promise<string> {
  // Prettier is a development dependency: only `npm run docs` and the tests get here.
  const prettier = await import('prettier');
  return prettier.format(JSON.stringify(document), { parser: 'json', printWidth: 100 });
}
