import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { PharosError } from '../errors/index.js';
import { demoPageHtml } from './demo-page.js';

export interface DemoRouteOptions {
  /** Where the browser reaches the public listener. */
  publicUrl: string;
  /** The demo app's current key (undefined when the demo app was deleted). */
  demoKey: () => Promise<string | undefined>;
}

/** Built by `npm run build` (scripts/build-demo.mjs); the same path from src/ui and dist/ui. */
const BUNDLE = new URL('../../dist/ui/demo/app.js', import.meta.url);

/**
 * `/demo`: a page with the real Faro Web SDK and tracing, pointed at the public listener with the
 * demo app's key, so a newcomer sees data arrive within a minute. Served by the internal listener
 * (which is private); the page's origin is one the demo app allows.
 */
export function registerDemoRoutes(app: FastifyInstance, options: DemoRouteOptions): void {
  let bundle: Promise<Buffer> | undefined;
  const publicRoute = { config: { public: true } };

  app.get('/demo', publicRoute, async (_request, reply) => {
    const key = await options.demoKey();
    if (key === undefined) {
      throw new PharosError(
        'NOT_FOUND',
        'there is no demo app (it was deleted, or the registry was not empty on first start)',
      );
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(demoPageHtml({ collectUrl: `${options.publicUrl}/collect/${key}` }));
  });

  app.get('/demo/app.js', publicRoute, async (_request, reply) => {
    bundle ??= readFile(BUNDLE).catch((error: unknown) => {
      bundle = undefined;
      throw new PharosError(
        'NOT_FOUND',
        `the demo bundle is not built (${(error as Error).message}); run npm run build`,
      );
    });
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await bundle);
  });

  // The backend of the demo's traced fetch: same origin as the page, so the browser sends the
  // W3C traceparent that Faro's tracing injected, and the answer shows it.
  app.get('/demo/api/checkout', publicRoute, (request, reply) =>
    reply.send({
      ok: true,
      traceparent: request.headers.traceparent ?? null,
    }),
  );
}
