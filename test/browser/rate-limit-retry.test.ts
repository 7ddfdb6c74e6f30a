import { build } from 'esbuild';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors/index.js';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';
import { sumCounter } from '../idempotency/gateway.js';
import { faroPayload, postCollect, sdkIdempotencyKey } from '../idempotency/requests.js';
import {
  allItems,
  launchChromium,
  readSnapshot,
  startHttpServer,
  waitForItems,
  type HttpServer,
  type Snapshot,
} from './helpers.js';

/**
 * The issue: "The real Faro SDK 2.12 in Chromium, answered 429 with `Retry-After: 2`: it retries
 * the batch with the same `Idempotency-Key`, and the items are stored exactly once."
 *
 * What SDK 2.12.1 does (node_modules/@grafana/faro-web-sdk/dist/esm/transports/fetch/):
 * - transport.js `prepareRequest` (l. 162-191) builds the request of a batch once, with
 *   `Idempotency-Key: genShortID(20)` (l. 186); `deliver` (l. 124-154) hands that same prepared
 *   request to every attempt (l. 137-138), so a retry repeats the key and the body byte for byte.
 * - `performAttempt` (l. 192-237): 429 is in RETRYABLE_STATUS_CODES (l. 19-27) and in
 *   WAIT_INTERVAL_STATUS_CODES (l. 28), so the outcome is `retry` with `retryAfterMs` from
 *   `getRetryAfterDelayMs` (l. 288-298: `^\d+$` seconds × 1000).
 * - deliveryQueue.js `deliver` (l. 40-89): at most `maxAttempts` (3) attempts; a Retry-After
 *   over 30 s drops the batch; otherwise it waits Retry-After (l. 75) plus 0-20 % jitter
 *   (`waitForTurn`, l. 158-173) and sends the same batch again. There is no global pause: other
 *   batches keep flowing meanwhile.
 *
 * So the test answers a real batch 429 with Retry-After 2 and checks that exactly that batch
 * (same key, same bytes) comes back 2-2.4 s later, is accepted, and that every item is stored
 * once. The page runs the real SDK from npm with no instrumentations (only what the test pushes
 * is sent, so the requests are known in advance) and `batching.itemLimit` of one batch, so that
 * pushing that many items sends them at once as one request.
 */

const TENANT = 'limited';
const APP = 'limited-app';
const KEY = 'limited-key-0123456789';
/** Items per batch: `batching.itemLimit`, so pushing this many flushes one request at once. */
const BATCH_SIZE = 5;

/** The page's script, bundled with the real SDK from npm as scripts/build-demo.mjs does. */
const PAGE_SCRIPT = `
import { initializeFaro } from '@grafana/faro-web-sdk';

const settings = window.__RATE_LIMIT_TEST__;
const faro = initializeFaro({
  url: settings.collectUrl,
  app: { name: 'rate-limit-test', version: '1.0.0', environment: 'test' },
  // Nothing sent by itself: only what the test pushes.
  instrumentations: [],
  batching: { enabled: true, itemLimit: settings.itemLimit },
});
faro.api.setSession({ id: settings.sessionId });
`;

async function bundlePageScript(): Promise<string> {
  const result = await build({
    stdin: {
      contents: PAGE_SCRIPT,
      resolveDir: new URL('../..', import.meta.url).pathname,
      loader: 'js',
      sourcefile: 'rate-limit-test-page.js',
    },
    bundle: true,
    write: false,
    format: 'iife',
    target: ['chrome100'],
    logLevel: 'warning',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild produced no bundle');
  return output.text;
}

function pageHtml(settings: { collectUrl: string; itemLimit: number; sessionId: string }): string {
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pharos rate-limit test</title></head>
<body>
<h1>Pharos rate-limit test</h1>
<script>window.__RATE_LIMIT_TEST__ = ${json};</script>
<script src="/app.js"></script>
</body>
</html>
`;
}

interface PageGlobals {
  faro?: {
    api: {
      pushLog(
        args: unknown[],
        options?: { level?: string; context?: Record<string, string> },
      ): void;
      pushEvent(name: string, attributes?: Record<string, string>, domain?: string): void;
      getSession(): { id?: string } | undefined;
    };
  };
}

/** One POST the page sent to the collect URL, as Chromium sent and received it. */
interface CollectAttempt {
  request: Request;
  idempotencyKey: string | undefined;
  sessionHeader: string | undefined;
  body: string;
  /** Log messages and event names in the body. */
  names: string[];
  status?: number;
  headers?: Record<string, string>;
  /** The error code of a refusal, when Chromium kept the body. */
  code?: string;
  /** Browser clock (ms since the epoch): the request started, its response headers arrived. */
  startedAt?: number;
  answeredAt?: number;
  failure?: string;
}

function namesIn(body: string): string[] {
  const payload = JSON.parse(body) as {
    logs?: { message: string }[];
    events?: { name: string }[];
  };
  return [
    ...(payload.logs ?? []).map((log) => log.message),
    ...(payload.events ?? []).map((event) => event.name),
  ];
}

/** Observes (never alters) the POSTs to `collectUrl`: headers, body, answer and timings. */
function recordCollectPosts(page: Page, collectUrl: string) {
  const attempts: CollectAttempt[] = [];
  const byRequest = new Map<Request, CollectAttempt>();
  page.on('request', (request) => {
    if (request.method() !== 'POST' || request.url() !== collectUrl) return;
    const headers = request.headers();
    const body = request.postData() ?? '';
    const attempt: CollectAttempt = {
      request,
      idempotencyKey: headers['idempotency-key'],
      sessionHeader: headers['x-faro-session-id'],
      body,
      names: namesIn(body),
    };
    attempts.push(attempt);
    byRequest.set(request, attempt);
  });
  page.on('response', (response) => {
    const attempt = byRequest.get(response.request());
    if (!attempt) return;
    attempt.status = response.status();
    attempt.headers = response.headers();
  });
  page.on('requestfinished', (request) => {
    const attempt = byRequest.get(request);
    if (!attempt) return;
    const timing = request.timing();
    attempt.startedAt = timing.startTime;
    attempt.answeredAt = timing.startTime + timing.responseStart;
    if (attempt.status !== 200 && attempt.status !== 202) {
      void request
        .response()
        .then((response) => response?.text())
        .then((text) => {
          if (text) attempt.code = (JSON.parse(text) as { code?: string }).code;
        })
        .catch(() => {});
    }
  });
  page.on('requestfailed', (request) => {
    const attempt = byRequest.get(request);
    if (attempt) attempt.failure = request.failure()?.errorText ?? 'failed';
  });
  const describeAll = () =>
    attempts
      .map(
        (attempt) =>
          `${attempt.idempotencyKey ?? '(no key)'} → ${attempt.status ?? attempt.failure ?? 'pending'}` +
          ` (${attempt.names.length} items, started ${attempt.startedAt?.toFixed(0) ?? '?'})`,
      )
      .join('; ') || 'no POSTs';
  return {
    attempts,
    describe: () => `collect POSTs: ${describeAll()}`,
    /** Waits until `done` holds for the attempts so far, or fails after `timeoutMs`. */
    async until(done: (all: CollectAttempt[]) => boolean, timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!done(attempts)) {
        if (Date.now() >= deadline)
          throw new Error(`after ${timeoutMs} ms, still waiting; ${describeAll()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

const finished = (attempt: CollectAttempt) =>
  attempt.failure !== undefined ||
  (attempt.status !== undefined && attempt.answeredAt !== undefined);

/** How many stored logs (by message) and events (by name) carry each name. */
function storedCounts(snapshot: Snapshot): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (name: unknown) => counts.set(String(name), (counts.get(String(name)) ?? 0) + 1);
  for (const stored of snapshot.logs) add(stored.item.message);
  for (const stored of snapshot.events) add(stored.item.name);
  return counts;
}

async function metricsText(pharos: TestPharos): Promise<string> {
  return (await fetch(`${pharos.internalUrl}/metrics`)).text();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the real Faro Web SDK 2.12.1 in Chromium, rate limited by Pharos (429, Retry-After: 2)', () => {
  let bundle: string;
  let pageServer: HttpServer;
  let pharos: TestPharos;
  let browser: Browser;
  // A session id of the SDK's shape, set with `faro.api.setSession` (no session instrumentation).
  const sessionId = sdkIdempotencyKey().slice(0, 10);

  beforeAll(async () => {
    bundle = await bundlePageScript();
    pageServer = await startHttpServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://page');
      if (url.pathname === '/') {
        response.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
        });
        response.end(
          pageHtml({
            collectUrl: `${pharos.publicUrl}/collect/${KEY}`,
            itemLimit: BATCH_SIZE,
            sessionId,
          }),
        );
      } else if (url.pathname === '/app.js') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        response.end(bundle);
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    });
    pharos = await startTestPharos({
      demo: { enabled: false },
      tenants: [
        {
          // One request at once, then one every 2 s: the second of two requests sent together
          // is refused with Retry-After: 2, and fits exactly when that has passed.
          id: TENANT,
          limits: { requests: { perSecond: 0.5, burst: 1 } },
          apps: [{ id: APP, allowedOrigins: [pageServer.origin], keys: [KEY] }],
        },
      ],
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await pharos?.stop();
    await pageServer?.close();
  });

  it('retries the refused batch after Retry-After with the same Idempotency-Key; every item is stored once', async () => {
    const run = Date.now().toString(36);
    const collectUrl = `${pharos.publicUrl}/collect/${KEY}`;
    const batches = ['one', 'two'].map((batch) => [
      ...[1, 2, 3].map((index) => `rate-limit ${run} batch ${batch} log ${index}`),
      ...[1, 2].map((index) => `rate_limit_${run}_${batch}_event_${index}`),
    ]);
    const allNames = batches.flat();
    expect(new Set(allNames).size).toBe(2 * BATCH_SIZE);

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      const posts = recordCollectPosts(page, collectUrl);

      await page.goto(pageServer.origin);
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).faro?.api.getSession()?.id !== undefined,
      );

      // Both batches in one task: each reaches `itemLimit` and is sent at once, so the two
      // requests reach Pharos together. The bucket holds one request: one is accepted, the other
      // refused with Retry-After: 2 (which one depends on which arrives first).
      await page.evaluate((names) => {
        const { faro } = globalThis as unknown as Required<PageGlobals>;
        for (const batch of names) {
          for (const name of batch) {
            if (name.startsWith('rate-limit ')) {
              faro.api.pushLog([name], { level: 'info', context: { test: 'rate-limit' } });
            } else {
              faro.api.pushEvent(name, { test: 'rate-limit' }, 'rate-limit-test');
            }
          }
        }
      }, batches);

      // The two first attempts, then the retry of the refused one: 2-2.4 s after its 429.
      await posts.until((all) => all.length >= 3 && all.slice(0, 3).every(finished), 15_000);
      const [firstA, firstB, retry] = posts.attempts as [
        CollectAttempt,
        CollectAttempt,
        CollectAttempt,
      ];
      const diagnose = posts.describe;

      // The first two attempts are the two batches, each with its own key.
      for (const attempt of [firstA, firstB]) {
        expect(attempt.failure, diagnose()).toBeUndefined();
        expect(attempt.idempotencyKey, diagnose()).toMatch(/^[A-Za-z0-9]{20}$/);
        expect(attempt.sessionHeader).toBe(sessionId);
      }
      expect(firstA.idempotencyKey).not.toBe(firstB.idempotencyKey);
      const sortedBatches = (lists: string[][]) => lists.map((names) => [...names].sort()).sort();
      expect(sortedBatches([firstA.names, firstB.names])).toEqual(sortedBatches(batches));

      // One accepted, one refused: 429, Retry-After: 2 (readable cross-origin), RATE_LIMITED.
      expect([firstA.status, firstB.status].sort(), diagnose()).toEqual([202, 429]);
      const refused = firstA.status === 429 ? firstA : firstB;
      expect(refused.headers?.['retry-after']).toBe('2');
      expect(refused.headers?.['access-control-expose-headers']).toMatch(/Retry-After/i);
      await posts.until(() => refused.code !== undefined, 2_000);
      expect(refused.code).toBe(ERRORS.RATE_LIMITED.code);

      // The SDK sent the refused batch again: same Idempotency-Key, same bytes, after Retry-After
      // (plus at most 20 % jitter), and it was accepted.
      expect(retry.failure, diagnose()).toBeUndefined();
      expect(retry.idempotencyKey).toBe(refused.idempotencyKey);
      expect(retry.sessionHeader).toBe(sessionId);
      expect(retry.body).toBe(refused.body);
      expect(retry.status, diagnose()).toBe(202);
      const waitedMs = (retry.startedAt as number) - (refused.answeredAt as number);
      expect(waitedMs, diagnose()).toBeGreaterThanOrEqual(2000);
      // At most 20 % jitter; the rest is slack for a busy machine. A third attempt would be a
      // fourth POST (checked below), not a later third one.
      expect(waitedMs, diagnose()).toBeLessThan(5000);

      // Every item is in the store exactly once, and nothing else is.
      await waitForItems(
        pharos,
        APP,
        { session: sessionId },
        (current) => {
          const counts = storedCounts(current);
          return allNames.filter((name) => !counts.has(name));
        },
        { timeoutMs: 10_000, diagnose },
      );
      await pharos.flush();
      // The whole app, not only the session: nothing else was stored either.
      const settled = await readSnapshot(pharos, APP);
      const counts = storedCounts(settled);
      expect(Object.fromEntries(counts)).toEqual(
        Object.fromEntries(allNames.map((name) => [name, 1])),
      );
      expect(allItems(settled)).toHaveLength(2 * BATCH_SIZE);
      for (const stored of allItems(settled)) expect(stored.sessionId).toBe(sessionId);

      // Pharos's own account: two keys claimed and ingested, no duplicate, ten items.
      const text = await metricsText(pharos);
      const idempotency = (outcome: string) =>
        sumCounter(text, 'pharos_idempotency_requests_total', { tenant: TENANT, outcome });
      expect(idempotency('new')).toBe(2);
      expect(idempotency('duplicate')).toBe(0);
      expect(idempotency('in_progress')).toBe(0);
      expect(sumCounter(text, 'pharos_items_received_total', { tenant: TENANT })).toBe(
        2 * BATCH_SIZE,
      );

      // No further attempt: the retry's 202 ended the delivery.
      expect(posts.attempts, diagnose()).toHaveLength(3);
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 30_000);
});

/**
 * The same at the HTTP level, without a browser: a 429 must not consume the Idempotency-Key,
 * so the retry that carries it is ingested (and only once).
 */
describe('a retry with the same Idempotency-Key after a 429', () => {
  let pharos: TestPharos;
  const requestsKey = 'requests-key-0123456789';
  const itemsKey = 'items-key-01234567890';

  beforeAll(async () => {
    pharos = await startTestPharos({
      demo: { enabled: false },
      tenants: [
        {
          // Refused before the key is looked at (stage 1, from the headers).
          id: 'by-requests',
          limits: { requests: { perSecond: 0.5, burst: 1 } },
          apps: [{ id: 'by-requests-app', keys: [requestsKey] }],
        },
        {
          // Refused after the key is claimed (stage 2, after parsing): the claim is released.
          id: 'by-items',
          limits: { items: { perSecond: 1, burst: 2 } },
          apps: [{ id: 'by-items-app', keys: [itemsKey] }],
        },
      ],
    });
  });
  afterAll(() => pharos?.stop());

  async function counters(tenant: string) {
    await pharos.flush();
    const text = await metricsText(pharos);
    return {
      ingested: sumCounter(text, 'pharos_items_received_total', { tenant }),
      claimed: sumCounter(text, 'pharos_idempotency_requests_total', { tenant, outcome: 'new' }),
      duplicates: sumCounter(text, 'pharos_idempotency_requests_total', {
        tenant,
        outcome: 'duplicate',
      }),
    };
  }

  async function storedEvents(app: string, names: string[]): Promise<number[]> {
    const snapshot = await readSnapshot(pharos, app);
    return names.map(
      (name) => snapshot.events.filter((stored) => stored.item.name === name).length,
    );
  }

  const renamed = (payload: ReturnType<typeof faroPayload>, prefix: string) => ({
    ...payload,
    events: payload.events.map((event) => ({ ...event, name: `${prefix}_${event.name}` })),
  });

  it('ingests the retry of a batch refused by the request rate (429 before the body)', async () => {
    const first = await postCollect(pharos.publicUrl, requestsKey, {
      idempotencyKey: sdkIdempotencyKey(),
      payload: faroPayload({ events: 1 }),
    });
    expect(first.status).toBe(202);

    const idempotencyKey = sdkIdempotencyKey();
    const payload = renamed(faroPayload({ events: 3 }), 'requests_retry');
    const names = payload.events.map((event) => event.name);
    const refused = await postCollect(pharos.publicUrl, requestsKey, { idempotencyKey, payload });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    expect(JSON.parse(refused.body)).toMatchObject({ code: ERRORS.RATE_LIMITED.code });
    expect(await counters('by-requests')).toEqual({ ingested: 1, claimed: 1, duplicates: 0 });

    await sleep(2000);
    const retry = await postCollect(pharos.publicUrl, requestsKey, { idempotencyKey, payload });
    expect(retry.status).toBe(202);
    expect(await counters('by-requests')).toEqual({ ingested: 4, claimed: 2, duplicates: 0 });
    expect(await storedEvents('by-requests-app', names)).toEqual([1, 1, 1]);
  });

  it('ingests the retry of a batch refused by a payload limit (429 after the key was claimed)', async () => {
    const first = await postCollect(pharos.publicUrl, itemsKey, {
      idempotencyKey: sdkIdempotencyKey(),
      payload: faroPayload({ events: 2 }),
    });
    expect(first.status).toBe(202);

    const idempotencyKey = sdkIdempotencyKey();
    const payload = renamed(faroPayload({ events: 2 }), 'items_retry');
    const names = payload.events.map((event) => event.name);
    const refused = await postCollect(pharos.publicUrl, itemsKey, { idempotencyKey, payload });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    expect(JSON.parse(refused.body)).toMatchObject({ code: ERRORS.RATE_LIMITED.code });
    // The key was claimed (counted `new`) and released, not confirmed.
    expect(await counters('by-items')).toEqual({ ingested: 2, claimed: 2, duplicates: 0 });

    await sleep(2000);
    const retry = await postCollect(pharos.publicUrl, itemsKey, { idempotencyKey, payload });
    expect(retry.status).toBe(202);
    expect(await counters('by-items')).toEqual({ ingested: 4, claimed: 3, duplicates: 0 });
    expect(await storedEvents('by-items-app', names)).toEqual([1, 1]);
  });
});
