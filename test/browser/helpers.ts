import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { apiGet, type TestPharos } from '../helpers/pharos.js';

/** Debian's Chromium, with the flags the fixture capture harness used. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.PHAROS_TEST_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The demo bundle built by `npm run build` (real Faro Web SDK + tracing from npm). */
export const DEMO_BUNDLE = new URL('../../dist/ui/demo/app.js', import.meta.url);

export async function readDemoBundle(): Promise<Buffer> {
  try {
    return await readFile(DEMO_BUNDLE);
  } catch (error) {
    throw new Error(
      `the demo bundle ${DEMO_BUNDLE.pathname} is missing (${(error as Error).message}); run npm run build first`,
    );
  }
}

export interface HttpServer {
  server: Server;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

/** A node:http server on a random loopback port. */
export async function startHttpServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<HttpServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An item as the read API returns it. */
export interface StoredItem {
  id: number;
  kind: string;
  appId: string;
  time: number;
  sessionId: string | null;
  traceId: string | null;
  item: Record<string, unknown>;
  meta: Record<string, unknown>;
  /** Spans only. */
  resource?: Record<string, unknown>;
  scope?: Record<string, unknown>;
}

export interface Snapshot {
  logs: StoredItem[];
  exceptions: StoredItem[];
  measurements: StoredItem[];
  events: StoredItem[];
  spans: StoredItem[];
}

const KINDS = ['logs', 'exceptions', 'measurements', 'events', 'spans'] as const;

/** Everything the store holds for an app (optionally one session), by kind. */
export async function readSnapshot(
  pharos: TestPharos,
  app: string,
  filter: { session?: string } = {},
): Promise<Snapshot> {
  const query = new URLSearchParams({ limit: '1000', order: 'asc' });
  if (filter.session !== undefined) query.set('session', filter.session);
  const entries = await Promise.all(
    KINDS.map(async (kind) => {
      const { items } = await apiGet<{ items: StoredItem[] }>(
        pharos,
        `/api/v1/apps/${encodeURIComponent(app)}/${kind}?${query.toString()}`,
      );
      return [kind, items] as const;
    }),
  );
  return Object.fromEntries(entries) as unknown as Snapshot;
}

/**
 * Polls the store (flushing Pharos's sinks first) every 250 ms until `missing` reports nothing
 * missing, or fails after `timeoutMs` naming what never arrived.
 */
export async function waitForItems(
  pharos: TestPharos,
  app: string,
  filter: { session?: string },
  missing: (snapshot: Snapshot) => string[],
  options: { timeoutMs?: number; diagnose?: () => string } = {},
): Promise<Snapshot> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await pharos.flush();
    const snapshot = await readSnapshot(pharos, app, filter);
    const absent = missing(snapshot);
    if (absent.length === 0) return snapshot;
    if (Date.now() >= deadline) {
      const summary = KINDS.map((kind) => `${kind}: ${snapshot[kind].length}`).join(', ');
      throw new Error(
        `after ${timeoutMs} ms the store still lacks: ${absent.join('; ')} (it holds ${summary})` +
          (options.diagnose ? `; ${options.diagnose()}` : ''),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function allItems(snapshot: Snapshot): StoredItem[] {
  return KINDS.flatMap((kind) => snapshot[kind]);
}

/** The `faro.performance.navigation`, `faro.tracing.fetch`, ... event with this name. */
export function eventsNamed(snapshot: Snapshot, name: string): StoredItem[] {
  return snapshot.events.filter((stored) => stored.item.name === name);
}

/** Web-vitals measurements, by metric (`fcp`, `lcp`, ...). */
export function webVitals(snapshot: Snapshot): Map<string, StoredItem> {
  const byMetric = new Map<string, StoredItem>();
  for (const stored of snapshot.measurements) {
    if (stored.item.type !== 'web-vitals') continue;
    const values = stored.item.values as Record<string, number>;
    for (const metric of ['fcp', 'ttfb', 'lcp', 'cls', 'inp']) {
      if (metric in values && !byMetric.has(metric)) byMetric.set(metric, stored);
    }
  }
  return byMetric;
}

/** The value of an OTLP/JSON attribute (`[{key, value: {stringValue|intValue|...}}]`). */
export function otlpAttribute(attributes: unknown, key: string): unknown {
  const found = (attributes as { key: string; value: Record<string, unknown> }[] | undefined)?.find(
    (attribute) => attribute.key === key,
  );
  return found === undefined ? undefined : Object.values(found.value)[0];
}

/** `00-<trace id>-<parent span id>-<flags>` */
export function parseTraceparent(value: string): { traceId: string; spanId: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(value);
  if (!match) throw new Error(`not a W3C traceparent: ${value}`);
  return { traceId: match[1] as string, spanId: match[2] as string };
}

export interface CollectPost {
  status: number | undefined;
  encoding: string | undefined;
  contentType: string | undefined;
}

/** Records the POSTs the page sends to the collect URL, with their request headers and status. */
export function trackCollectPosts(page: Page, collectUrl: string) {
  const posts = new Map<Request, CollectPost>();
  const isCollectPost = (request: Request) =>
    request.method() === 'POST' && request.url() === collectUrl;
  page.on('request', (request) => {
    if (!isCollectPost(request)) return;
    const headers = request.headers();
    posts.set(request, {
      status: undefined,
      encoding: headers['content-encoding'],
      contentType: headers['content-type'],
    });
  });
  page.on('response', (response) => {
    const post = posts.get(response.request());
    if (post) post.status = response.status();
  });
  page.on('requestfailed', (request) => {
    const post = posts.get(request);
    if (post) post.status = -1;
  });
  return {
    /** The statuses so far, for failure messages. */
    describe: () =>
      `collect POSTs: ${[...posts.values()].map((post) => post.status ?? 'pending').join(', ') || 'none'}`,
    /** Waits (up to 10 s) until every POST seen so far was answered or failed (status -1). */
    async settled(): Promise<CollectPost[]> {
      const deadline = Date.now() + 10_000;
      while ([...posts.values()].some((post) => post.status === undefined)) {
        if (Date.now() >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return [...posts.values()];
    },
  };
}
