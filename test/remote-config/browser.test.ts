import type { IncomingMessage, ServerResponse } from 'node:http';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyResolver } from '../../src/admission/index.js';
import { decideSession } from '../../src/admission/sampling.js';
import { APP_DEFAULTS, type App } from '../../src/registry/types.js';
import { launchChromium, startHttpServer, type HttpServer } from '../browser/helpers.js';
import type { StorageLike } from '../../packages/faro-remote-config/src/index.js';
import type { PageResult } from './page/main.js';
import { startConfigServer } from './server.js';

/**
 * `@pharos/faro-remote-config` with the real Faro Web SDK 2.12 and its tracing, bundled from npm
 * with esbuild, in Debian's Chromium. Three origins: the page, a "Pharos" serving
 * `/config/:appKey` (the real handler) and recording `/collect/:appKey`, and a backend for
 * cross-origin fetches.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One app per scenario, so that the scenarios cannot see each other's traffic. */
const KEYS = {
  zero: 'rc-zero-key-0123456789',
  one: 'rc-one-key-01234567890',
  half: 'rc-half-key-0123456789',
  slow: 'rc-slow-key-0123456789',
  cached: 'rc-cache-key-012345678',
  traced: 'rc-traced-key-01234567',
  plain: 'rc-plain-key-012345678',
} as const;

type Mode = 'up' | 'slow' | 'down';

interface CollectPost {
  key: string;
  sessionHeader: string | undefined;
  body: { meta?: { session?: { id?: string } }; events?: { name: string }[] };
}

/** The page globals the test reads. */
interface PageGlobals {
  __result?: PageResult;
  __error?: string;
  faro: { api: { pushEvent(name: string, attributes?: Record<string, string>): void } };
  sessionStorage: StorageLike;
  localStorage: StorageLike;
}

/** Faro's stored session (`sessionStorage['com.grafana.faro.session']`). */
interface StoredSession {
  sessionId: string;
  isSampled: boolean;
}

const SLOW_MS = 3000;

describe('@pharos/faro-remote-config with the real Faro SDK in Chromium', () => {
  let bundle: string;
  let pageServer: HttpServer;
  let pharos: HttpServer;
  let backend: HttpServer;
  let browser: Browser;
  const apps = new Map<string, { app: App; tenant: { id: string } }>();
  const modes = new Map<string, Mode>();
  const configRequests = new Map<string, number>();
  const posts: CollectPost[] = [];
  /** `traceparent` the backend saw, by run ('' when the request had none). */
  const backendSaw = new Map<string, string>();

  function defineApp(key: string, settings: Partial<App>): void {
    const app: App = {
      ...APP_DEFAULTS,
      id: key.replace(/-key.*/, ''),
      tenantId: 'browser',
      name: key,
      allowedOrigins: [pageServer.origin],
      source: 'config',
      createdAt: 0,
      updatedAt: 1_767_225_600_000,
      ...settings,
    };
    apps.set(key, { app, tenant: { id: 'browser' } });
  }

  function collect(request: IncomingMessage, response: ServerResponse): void {
    const key = (request.url ?? '').replace(/^\/collect\//, '');
    const cors = {
      'access-control-allow-origin': request.headers.origin ?? '*',
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers':
        'content-type, content-encoding, x-api-key, x-faro-session-id, idempotency-key',
      'access-control-expose-headers': 'Retry-After, X-Faro-Session-Status',
      vary: 'Origin',
    };
    if (request.method === 'OPTIONS') {
      response.writeHead(204, cors).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      posts.push({
        key,
        sessionHeader: request.headers['x-faro-session-id'] as string | undefined,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as CollectPost['body'],
      });
      response.writeHead(202, cors).end();
    });
  }

  beforeAll(async () => {
    const built = await build({
      entryPoints: [new URL('./page/main.ts', import.meta.url).pathname],
      bundle: true,
      format: 'iife',
      target: ['chrome100'],
      write: false,
      logLevel: 'warning',
    });
    bundle = built.outputFiles[0]?.text ?? '';

    pageServer = await startHttpServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://page');
      if (url.pathname === '/app.js') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        response.end(bundle);
        return;
      }
      const key = url.searchParams.get('key') ?? '';
      const settings = JSON.stringify({
        configUrl: `${pharos.origin}/config/${key}`,
        collectUrl: `${pharos.origin}/collect/${key}`,
        timeoutMs: Number(url.searchParams.get('timeout') ?? '1000'),
      });
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(
        `<!doctype html><html><head><meta charset="utf-8"><title>remote config</title></head>` +
          `<body><script>window.__SETTINGS__ = ${settings};</script><script src="/app.js"></script></body></html>`,
      );
    });

    const keys: KeyResolver = {
      resolveKey: (key) => apps.get(key),
      isExpiredKey: () => false,
    };
    pharos = await startConfigServer({
      keys,
      other: collect,
      beforeConfig: async (request) => {
        const key = (request.url ?? '').replace(/^\/config\//, '').replace(/\?.*/, '');
        configRequests.set(key, (configRequests.get(key) ?? 0) + 1);
        const mode = modes.get(key) ?? 'up';
        if (mode === 'down') {
          request.socket.destroy();
          return false;
        }
        if (mode === 'slow') await sleep(SLOW_MS);
        return true;
      },
    });

    backend = await startHttpServer((request, response) => {
      const cors = {
        'access-control-allow-origin': pageServer.origin,
        'access-control-allow-headers': 'traceparent, tracestate',
        'access-control-allow-methods': 'GET',
      };
      if (request.method === 'OPTIONS') {
        response.writeHead(204, cors).end();
        return;
      }
      const run = new URL(request.url ?? '/', 'http://backend').searchParams.get('run') ?? '';
      backendSaw.set(run, String(request.headers.traceparent ?? ''));
      response.writeHead(200, { ...cors, 'content-type': 'application/json' }).end('{}');
    });

    defineApp(KEYS.zero, { samplingRate: 0 });
    defineApp(KEYS.one, { samplingRate: 1 });
    defineApp(KEYS.half, { samplingRate: 0.5 });
    defineApp(KEYS.slow, { samplingRate: 1 });
    defineApp(KEYS.cached, { samplingRate: 0, updatedAt: 1_767_225_600_123 });
    defineApp(KEYS.traced, { tracePropagationUrls: [`^${escapeRegExp(backend.origin)}/`] });
    defineApp(KEYS.plain, {});
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
    await pharos?.close();
    await backend?.close();
  });

  async function openPage(
    context: BrowserContext,
    key: string,
    timeoutMs = 1000,
  ): Promise<{ page: Page; result: PageResult }> {
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${pageServer.origin}/?key=${key}&timeout=${timeoutMs}`);
    await page.waitForFunction(() => {
      const globals = globalThis as unknown as PageGlobals;
      return globals.__result !== undefined || globals.__error !== undefined;
    });
    const { result, error } = await page.evaluate(() => {
      const globals = globalThis as unknown as PageGlobals;
      return { result: globals.__result, error: globals.__error };
    });
    expect(error).toBeUndefined();
    return { page, result: result as PageResult };
  }

  const postsFor = (key: string) => posts.filter((post) => post.key === key);

  async function waitForPosts(key: string, predicate: (post: CollectPost) => boolean) {
    const deadline = Date.now() + 10_000;
    while (!postsFor(key).some(predicate)) {
      if (Date.now() > deadline) throw new Error(`no matching POST for ${key}`);
      await sleep(50);
    }
  }

  async function storedSession(page: Page): Promise<StoredSession> {
    const text = await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).sessionStorage.getItem('com.grafana.faro.session'),
    );
    return JSON.parse(text ?? 'null') as StoredSession;
  }

  it('samplingRate 0: Faro starts and sends nothing', async () => {
    const context = await browser.newContext();
    try {
      const { page, result } = await openPage(context, KEYS.zero);
      expect(result).toMatchObject({ source: 'network', samplingRate: 0 });
      await page.evaluate(() => {
        const { faro } = globalThis as unknown as PageGlobals;
        for (let index = 0; index < 5; index++) faro.api.pushEvent(`should_not_leave_${index}`);
      });
      expect((await storedSession(page)).isSampled).toBe(false);
      await sleep(1500); // six times Faro's 250 ms batch interval
      expect(configRequests.get(KEYS.zero)).toBeGreaterThanOrEqual(1);
      expect(postsFor(KEYS.zero)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('samplingRate 1: Faro sends, in the session it reports', async () => {
    const context = await browser.newContext();
    try {
      const { page, result } = await openPage(context, KEYS.one);
      expect(result).toMatchObject({ source: 'network', samplingRate: 1 });
      const session = await storedSession(page);
      expect(session.isSampled).toBe(true);
      await waitForPosts(KEYS.one, (post) =>
        (post.body.events ?? []).some((event) => event.name === 'page_ready'),
      );
      for (const post of postsFor(KEYS.one)) expect(post.sessionHeader).toBe(session.sessionId);
    } finally {
      await context.close();
    }
  });

  it('samples each session exactly as the gateway will (rate 0.5): kept here ⇔ kept there', async () => {
    const seen = { kept: 0, dropped: 0 };
    for (let visit = 0; visit < 30 && (seen.kept < 3 || seen.dropped < 3); visit++) {
      const context = await browser.newContext();
      try {
        const { page } = await openPage(context, KEYS.half);
        const session = await storedSession(page);
        expect(session.sessionId).toMatch(/^\w{10}$/);
        const gatewayKeeps = decideSession(session.sessionId, 0.5) === 'keep';
        expect(session.isSampled, session.sessionId).toBe(gatewayKeeps);
        if (gatewayKeeps) {
          seen.kept++;
          await waitForPosts(KEYS.half, (post) => post.sessionHeader === session.sessionId);
        } else {
          seen.dropped++;
        }
      } finally {
        await context.close();
      }
    }
    expect(seen.kept).toBeGreaterThanOrEqual(3);
    expect(seen.dropped).toBeGreaterThanOrEqual(3);
    // Nothing reached the collector that the gateway would have dropped.
    for (const post of postsFor(KEYS.half)) {
      expect(decideSession(post.sessionHeader ?? '', 0.5)).toBe('keep');
    }
  }, 60_000);

  it('a slow config endpoint holds Faro back no longer than timeoutMs; the late answer is cached', async () => {
    modes.set(KEYS.slow, 'slow');
    const context = await browser.newContext();
    try {
      const { page, result } = await openPage(context, KEYS.slow, 400);
      expect(result.source).toBe('defaults');
      // Held back by the timeout (400 ms), not by the endpoint (3 s); the margin is for slow CI.
      expect(result.loadMs).toBeGreaterThanOrEqual(390);
      expect(result.loadMs).toBeLessThan(1200);
      // The defaults keep every session: Faro runs and sends.
      await waitForPosts(KEYS.slow, (post) =>
        (post.body.events ?? []).some((event) => event.name === 'page_ready'),
      );
      // The answer arrives after SLOW_MS and is stored for the next page load.
      await page.waitForFunction(
        (cacheKey) =>
          (globalThis as unknown as PageGlobals).localStorage.getItem(cacheKey) !== null,
        `pharos.faro-remote-config:${pharos.origin}/config/${KEYS.slow}`,
        { timeout: SLOW_MS + 5000 },
      );
    } finally {
      await context.close();
      modes.delete(KEYS.slow);
    }
  });

  it('uses the cached config at once when the endpoint is down or slow', async () => {
    const first = await browser.newContext();
    let storageState: Awaited<ReturnType<BrowserContext['storageState']>>;
    try {
      const { result } = await openPage(first, KEYS.cached);
      // The helper stores the config before it resolves with it.
      expect(result).toMatchObject({ source: 'network', samplingRate: 0 });
      storageState = await first.storageState();
    } finally {
      await first.close();
    }
    // New visits: same localStorage, empty HTTP cache (a new context), and an endpoint that
    // refuses connections, then one that answers after SLOW_MS.
    for (const mode of ['down', 'slow'] as const) {
      modes.set(KEYS.cached, mode);
      const requestsBefore = configRequests.get(KEYS.cached) ?? 0;
      const context = await browser.newContext({ storageState });
      try {
        const { page, result } = await openPage(context, KEYS.cached, 5000);
        expect(result, mode).toMatchObject({
          source: 'cache',
          samplingRate: 0,
          version: 1_767_225_600_123,
        });
        // At once: far below both the endpoint's delay and the 5 s timeout (generous for CI).
        expect(result.loadMs, mode).toBeLessThan(1000);
        // The cached rate 0 applies (the defaults would have sent): nothing leaves the page.
        expect((await storedSession(page)).isSampled).toBe(false);
        await sleep(1000);
        expect(postsFor(KEYS.cached)).toEqual([]);
        // The helper did try to refresh it in the background.
        expect(configRequests.get(KEYS.cached) ?? 0).toBeGreaterThan(requestsBefore);
      } finally {
        await context.close();
      }
    }
    modes.delete(KEYS.cached);
  });

  it('tracePropagationUrls make Faro add traceparent to a cross-origin fetch, and only them', async () => {
    const context = await browser.newContext();
    try {
      for (const [key, run] of [
        [KEYS.traced, 'traced'],
        [KEYS.plain, 'plain'],
      ] as const) {
        const { page } = await openPage(context, key);
        await page.evaluate(
          (url) => fetch(url).then((response) => response.text()),
          `${backend.origin}/api/data?run=${run}`,
        );
      }
      expect(backendSaw.get('traced')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(backendSaw.get('plain')).toBe('');
    } finally {
      await context.close();
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
