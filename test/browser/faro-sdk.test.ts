import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';
import {
  allItems,
  eventsNamed,
  launchChromium,
  otlpAttribute,
  parseTraceparent,
  readDemoBundle,
  startHttpServer,
  trackCollectPosts,
  waitForItems,
  webVitals,
  type HttpServer,
  type Snapshot,
} from './helpers.js';

/**
 * The real Faro Web SDK and tracing (the demo bundle, built from npm) in Debian's Chromium, on a
 * page of its own origin, sending to Pharos's public listener on another origin (so every POST
 * is a CORS request with a preflight), with a traced fetch to a backend on a third origin.
 */

const TENANT = 'browser';
const APP = 'browser-app';
const KEY = 'browser-test-key-0123456789';

/** What the page's own script exposes (plus the bundle's `window.faro`). */
interface PageGlobals {
  faro: {
    api: {
      pushLog(
        args: unknown[],
        options?: { level?: string; context?: Record<string, string> },
      ): void;
      pushEvent(name: string, attributes?: Record<string, string>, domain?: string): void;
      pushMeasurement(
        measurement: { type: string; values: Record<string, number> },
        options?: { context?: Record<string, string> },
      ): void;
      getSession(): { id?: string } | undefined;
    };
  };
  __layoutShift: number;
  /** Duration of the slowest keydown interaction the Event Timing API reported. */
  __slowKeydown: number;
  /** Resolves in an idle period (after the idle callbacks queued before it). */
  __idle(): Promise<void>;
  __simulateHidden(): void;
}

/** Settings the bundle reads from `window.__PHAROS_DEMO__` (src/ui/demo/client/main.ts). */
interface DemoSettings {
  collectUrl: string;
  app: { name: string; version: string; environment: string };
  requestCompression: boolean;
  propagateTraceHeaderCorsUrls: string[];
  fetchUrl: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function testPageHtml(settings: DemoSettings): string {
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  // The page's own script: a keydown handler that keeps the main thread busy (an INP candidate),
  // a banner inserted after load (a layout shift, for CLS), and the "tab hidden" simulation of
  // the fixture harness (headless Chromium never hides a tab).
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pharos browser test</title></head>
<body>
<h1>Pharos browser test</h1>
<p id="intro">This page runs the Pharos demo bundle: the real Grafana Faro Web SDK and its tracing
instrumentation, sending to a Pharos started by the test.</p>
<button id="traced-fetch" data-faro-user-action-name="traced-fetch">Make a traced fetch</button>
<input id="search" aria-label="Search">
<p id="status" role="status"></p>
<script>
window.__PHAROS_DEMO__ = ${json};
window.__layoutShift = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (entry) {
    if (!entry.hadRecentInput) window.__layoutShift += entry.value;
  });
}).observe({ type: 'layout-shift', buffered: true });
window.__slowKeydown = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (entry) {
    if (entry.name === 'keydown' && entry.interactionId) {
      window.__slowKeydown = Math.max(window.__slowKeydown, entry.duration);
    }
  });
}).observe({ type: 'event', durationThreshold: 16, buffered: true });
document.getElementById('search').addEventListener('keydown', function () {
  var end = performance.now() + 120;
  while (performance.now() < end) {}
});
addEventListener('load', function () {
  setTimeout(function () {
    var banner = document.createElement('div');
    banner.style.height = '250px';
    banner.textContent = 'A late banner';
    document.body.insertBefore(banner, document.body.firstChild);
  }, 200);
});
window.__idle = function () {
  return new Promise(function (resolve) { requestIdleCallback(function () { resolve(); }); });
};
window.__simulateHidden = function () {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: function () { return 'hidden'; } });
  Object.defineProperty(document, 'hidden', { configurable: true, get: function () { return true; } });
  document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
};
</script>
<script src="/app.js"></script>
</body>
</html>
`;
}

/** Sum of `pharos_ingest_request_body_bytes_count` samples with these labels. */
async function bodyCount(pharos: TestPharos, stage: string, encoding: string): Promise<number> {
  const text = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('pharos_ingest_request_body_bytes_count{')) continue;
    if (!line.includes(`stage="${stage}"`) || !line.includes(`encoding="${encoding}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('the real Faro Web SDK 2.12.1 in Chromium, sending to Pharos', () => {
  let bundle: Buffer;
  let pageServer: HttpServer;
  let backend: HttpServer;
  let pharos: TestPharos;
  let browser: Browser;
  /** The `traceparent` the backend received, by run (preflights carry none). */
  const traceparents = new Map<string, string>();

  beforeAll(async () => {
    bundle = await readDemoBundle();
    pageServer = await startHttpServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://page');
      if (url.pathname === '/') {
        const settings: DemoSettings = {
          collectUrl: `${pharos.publicUrl}/collect/${KEY}`,
          app: { name: 'browser-test', version: '2.0.0', environment: 'test' },
          requestCompression: url.searchParams.get('compression') === 'gzip',
          propagateTraceHeaderCorsUrls: [`^${escapeRegExp(backend.origin)}/`],
          fetchUrl: `${backend.origin}/api/checkout?run=${url.searchParams.get('run') ?? ''}`,
        };
        response.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
        });
        response.end(testPageHtml(settings));
      } else if (url.pathname === '/app.js') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        response.end(bundle);
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    });
    backend = await startHttpServer((request, response) => {
      const cors = {
        'access-control-allow-origin': pageServer.origin,
        'access-control-allow-headers': 'traceparent, tracestate',
        'access-control-allow-methods': 'GET',
        vary: 'origin',
      };
      if (request.method === 'OPTIONS') {
        response.writeHead(204, cors).end();
        return;
      }
      const traceparent = request.headers.traceparent;
      const run = new URL(request.url ?? '/', 'http://backend').searchParams.get('run');
      if (typeof traceparent === 'string' && run) traceparents.set(run, traceparent);
      response.writeHead(200, { ...cors, 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true, traceparent: traceparent ?? null }));
    });
    pharos = await startTestPharos({
      tenants: [
        { id: TENANT, apps: [{ id: APP, allowedOrigins: [pageServer.origin], keys: [KEY] }] },
      ],
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await pharos?.stop();
    await pageServer?.close();
    await backend?.close();
  });

  async function runScenario(compression: 'plain' | 'gzip'): Promise<void> {
    const run = `${compression}-${Date.now().toString(36)}`;
    const collectUrl = `${pharos.publicUrl}/collect/${KEY}`;
    const gzipBefore = await bodyCount(pharos, 'wire', 'gzip');
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      const posts = trackCollectPosts(page, collectUrl);

      // Page load: session_start, faro.performance.navigation, FCP and TTFB. Then wait for the
      // banner's layout shift, so that it happens before any input (CLS ignores shifts after one).
      const pageUrl = `${pageServer.origin}/?compression=${compression}&run=${run}`;
      const fetchUrl = `${backend.origin}/api/checkout?run=${run}`;
      await page.goto(pageUrl);
      await page.waitForFunction(() => {
        const globals = globalThis as unknown as Partial<PageGlobals>;
        return globals.faro !== undefined && (globals.__layoutShift ?? 0) > 0;
      });
      const sessionId = await page.evaluate(
        () => (globalThis as unknown as PageGlobals).faro.api.getSession()?.id ?? '',
      );
      expect(sessionId).toMatch(/^\w{10}$/);

      // A console.error (an exception) and the push API.
      await page.evaluate((marker) => {
        const { faro } = globalThis as unknown as PageGlobals;
        console.error('browser test console error', marker);
        faro.api.pushLog(['browser test log', marker], {
          level: 'warn',
          context: { run: marker, source: 'pushLog' },
        });
        faro.api.pushEvent('browser_test_event', { run: marker, step: 'push' }, 'browser-test');
        faro.api.pushMeasurement(
          { type: 'browser_test_metric', values: { items: 3, total: 42.5 } },
          { context: { run: marker } },
        );
      }, run);

      // A real click (a user action; the first input reports LCP) whose handler makes the
      // traced fetch to the backend; the page shows the traceparent the backend saw.
      await page.click('#traced-fetch');
      await page.locator('#status', { hasText: /traceparent 00-/ }).waitFor();
      const traceparent = traceparents.get(run);
      expect(traceparent).toBeDefined();
      expect(await page.locator('#status').textContent()).toContain(traceparent);
      const { traceId, spanId } = parseTraceparent(traceparent as string);

      // A real key press with a slow handler (the INP). Event Timing reports an interaction only
      // after its next paint, and web-vitals handles the entries in an idle callback; a "hide"
      // before that reports INP without it. So wait for the entry, then for an idle period.
      await page.locator('#search').press('a');
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__slowKeydown >= 100);
      await page.evaluate(() => (globalThis as unknown as PageGlobals).__idle());
      // "Hidden" makes web-vitals report LCP/CLS/INP and Faro flush its batch.
      await page.evaluate(() => (globalThis as unknown as PageGlobals).__simulateHidden());

      const snapshot = await waitForItems(
        pharos,
        APP,
        { session: sessionId },
        (current) => missingItems(current, run, traceId),
        { diagnose: posts.describe },
      );
      assertItems(snapshot, { run, sessionId, pageUrl, fetchUrl, traceId, spanId });
      expect(pageErrors).toEqual([]);

      // Transport: every POST was answered 202 and encoded as configured.
      const answered = await posts.settled();
      expect(answered.length).toBeGreaterThan(0);
      expect(answered.map((post) => post.status)).toEqual(answered.map(() => 202));
      expect(answered.map((post) => post.contentType)).toEqual(
        answered.map(() => 'application/json'),
      );
      const gzipBodies = (await bodyCount(pharos, 'wire', 'gzip')) - gzipBefore;
      if (compression === 'gzip') {
        expect(answered.map((post) => post.encoding)).toEqual(answered.map(() => 'gzip'));
        expect(gzipBodies).toBeGreaterThanOrEqual(answered.length);
      } else {
        expect(answered.map((post) => post.encoding)).toEqual(answered.map(() => undefined));
        expect(gzipBodies).toBe(0);
      }
    } finally {
      await context.close();
    }
  }

  it('delivers page load, web vitals, errors, pushed signals and a traced fetch (JSON bodies)', async () => {
    await runScenario('plain');
  }, 60_000);

  it('delivers the same with requestCompression (gzip bodies)', async () => {
    await runScenario('gzip');
  }, 60_000);
});

const REQUIRED_VITALS = ['fcp', 'ttfb', 'lcp', 'cls', 'inp'];

function missingItems(snapshot: Snapshot, run: string, traceId: string): string[] {
  const missing: string[] = [];
  if (eventsNamed(snapshot, 'session_start').length === 0) missing.push('session_start event');
  if (eventsNamed(snapshot, 'faro.performance.navigation').length === 0)
    missing.push('faro.performance.navigation event');
  const vitals = webVitals(snapshot);
  for (const metric of REQUIRED_VITALS) {
    if (!vitals.has(metric)) missing.push(`web-vitals ${metric}`);
  }
  if (!snapshot.exceptions.some((stored) => String(stored.item.value).includes(run)))
    missing.push('console.error exception');
  if (!snapshot.logs.some((stored) => String(stored.item.message).includes(run)))
    missing.push('pushed log');
  if (eventsNamed(snapshot, 'browser_test_event').length === 0) missing.push('pushed event');
  if (!snapshot.measurements.some((stored) => stored.item.type === 'browser_test_metric'))
    missing.push('pushed measurement');
  if (eventsNamed(snapshot, 'faro.user.action').length === 0)
    missing.push('faro.user.action event');
  if (!snapshot.spans.some((stored) => stored.traceId === traceId))
    missing.push(`span of trace ${traceId}`);
  if (
    !eventsNamed(snapshot, 'faro.tracing.fetch').some(
      (stored) => (stored.item.trace as { trace_id?: string } | undefined)?.trace_id === traceId,
    )
  )
    missing.push('faro.tracing.fetch event');
  return missing;
}

interface Expectations {
  run: string;
  sessionId: string;
  pageUrl: string;
  fetchUrl: string;
  traceId: string;
  spanId: string;
}

function assertItems(snapshot: Snapshot, expected: Expectations): void {
  const { run, sessionId, pageUrl, fetchUrl, traceId, spanId } = expected;
  for (const stored of allItems(snapshot)) {
    expect(stored.sessionId).toBe(sessionId);
    expect(stored.appId).toBe(APP);
    expect((stored.meta.app as Record<string, unknown>).name).toBe('browser-test');
    expect((stored.meta.sdk as Record<string, unknown>).version).toBe('2.12.1');
  }

  expect(eventsNamed(snapshot, 'session_start')).toHaveLength(1);
  const [navigation] = eventsNamed(snapshot, 'faro.performance.navigation');
  expect(navigation?.item.attributes).toMatchObject({
    name: pageUrl,
    responseStatus: '200',
    type: 'navigate',
  });

  const vitals = webVitals(snapshot);
  for (const metric of REQUIRED_VITALS) {
    const values = vitals.get(metric)?.item.values as Record<string, number>;
    expect(typeof values[metric], metric).toBe('number');
    expect(values[metric], metric).toBeGreaterThanOrEqual(0);
  }
  const cls = vitals.get('cls')?.item.values as Record<string, number>;
  expect(cls.cls).toBeGreaterThan(0);
  const inp = vitals.get('inp')?.item;
  expect((inp?.values as Record<string, number>).inp).toBeGreaterThanOrEqual(100);
  expect((inp?.context as Record<string, string>).interaction_type).toBe('keyboard');

  const consoleErrors = snapshot.exceptions.filter((stored) =>
    String(stored.item.value).includes(run),
  );
  expect(consoleErrors).toHaveLength(1);
  expect(consoleErrors[0]?.item).toMatchObject({
    type: 'Error',
    value: `console.error: browser test console error ${run}`,
  });

  // The pushed signals, exactly as sent, stored at their own timestamps.
  const logs = snapshot.logs.filter((stored) => String(stored.item.message).includes(run));
  expect(logs.map((stored) => stored.item)).toEqual([
    {
      message: `browser test log ${run}`,
      level: 'warn',
      context: { run, source: 'pushLog' },
      timestamp: expect.any(String) as unknown,
    },
  ]);
  const events = eventsNamed(snapshot, 'browser_test_event');
  expect(events.map((stored) => stored.item)).toEqual([
    {
      name: 'browser_test_event',
      domain: 'browser-test',
      attributes: { run, step: 'push' },
      timestamp: expect.any(String) as unknown,
    },
  ]);
  const measurements = snapshot.measurements.filter(
    (stored) => stored.item.type === 'browser_test_metric',
  );
  expect(measurements.map((stored) => stored.item)).toEqual([
    {
      type: 'browser_test_metric',
      values: { items: 3, total: 42.5 },
      context: { run },
      timestamp: expect.any(String) as unknown,
    },
  ]);
  for (const stored of [...logs, ...events, ...measurements, ...consoleErrors]) {
    expect(stored.time).toBe(Date.parse(stored.item.timestamp as string));
  }

  // The click was a user action; the fetch it made belongs to it.
  const [action] = eventsNamed(snapshot, 'faro.user.action');
  expect(action?.item.action).toEqual({ id: expect.any(String) as unknown, name: 'traced-fetch' });
  const actionId = (action?.item.action as { id: string } | undefined)?.id;

  // The fetch span: the ids the backend received in traceparent are the span's.
  const spans = snapshot.spans.filter((stored) => stored.traceId === traceId);
  expect(spans).toHaveLength(1);
  expect(spans[0]?.item).toMatchObject({ traceId, spanId, kind: 3, name: 'GET' });
  expect(otlpAttribute(spans[0]?.item.attributes, 'url.full')).toBe(fetchUrl);
  expect(otlpAttribute(spans[0]?.item.attributes, 'http.response.status_code')).toBe(200);
  expect(otlpAttribute(spans[0]?.item.attributes, 'session.id')).toBe(sessionId);
  expect(otlpAttribute(spans[0]?.item.attributes, 'faro.action.user.parentId')).toBe(actionId);
  expect(otlpAttribute(spans[0]?.resource?.attributes, 'service.name')).toBe('browser-test');
  const fetchEvents = eventsNamed(snapshot, 'faro.tracing.fetch').filter(
    (stored) => (stored.item.trace as { trace_id?: string } | undefined)?.trace_id === traceId,
  );
  expect(fetchEvents).toHaveLength(1);
  expect(fetchEvents[0]?.item.trace).toEqual({ trace_id: traceId, span_id: spanId });
  expect(fetchEvents[0]?.traceId).toBe(traceId);
  expect(fetchEvents[0]?.item.action).toEqual({ name: 'traced-fetch', parentId: actionId });
}
