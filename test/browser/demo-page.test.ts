import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';
import {
  allItems,
  eventsNamed,
  launchChromium,
  parseTraceparent,
  readDemoBundle,
  trackCollectPosts,
  waitForItems,
  type Snapshot,
} from './helpers.js';

/**
 * `/demo` on the internal listener, as a newcomer would use it: the demo app created on the
 * first start, the page sending to the public listener (another origin), every button clicked.
 */

interface PageGlobals {
  faro?: { api: { getSession(): { id?: string } | undefined } };
}

describe('the /demo page in Chromium', () => {
  let pharos: TestPharos;
  let browser: Browser;

  beforeAll(async () => {
    await readDemoBundle(); // fails early, with a hint, when dist/ is not built
    pharos = await startTestPharos({});
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  it('sends what each button does to the demo app', async () => {
    expect(pharos.demo?.appId).toBe('demo');
    const app = pharos.demo?.appId as string;
    const collectUrl = `${pharos.publicUrl}/collect/${pharos.demo?.key}`;

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      const posts = trackCollectPosts(page, collectUrl);

      await page.goto(`${pharos.internalUrl}/demo`);
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).faro?.api.getSession()?.id !== undefined,
      );
      expect(await page.locator('#collect-url').textContent()).toBe(collectUrl);
      const sessionId = await page.evaluate(
        () => (globalThis as unknown as PageGlobals).faro?.api.getSession()?.id ?? '',
      );

      const status = page.locator('#status');
      const clicks: [button: string, status: string | RegExp][] = [
        ['send-log', 'Log sent.'],
        ['throw-error', /^Error thrown/],
        ['push-event', 'Event pushed.'],
        ['push-measurement', 'Measurement pushed.'],
        ['traced-fetch', /the backend saw traceparent 00-/],
      ];
      for (const [button, text] of clicks) {
        await page.click(`#${button}`);
        await status.filter({ hasText: text }).waitFor();
      }
      const match = /traceparent (\S+?)\.?$/.exec((await status.textContent()) ?? '');
      const { traceId, spanId } = parseTraceparent(match?.[1] ?? '(none)');

      const snapshot = await waitForItems(
        pharos,
        app,
        { session: sessionId },
        (current) => missingItems(current, traceId),
        { diagnose: posts.describe },
      );

      expect(snapshot.logs.filter((stored) => stored.item.message === DEMO_LOG)).toEqual([
        expect.objectContaining({
          item: expect.objectContaining({
            message: DEMO_LOG,
            level: 'info',
            context: { button: 'send-log' },
          }) as unknown,
        }),
      ]);

      const errors = snapshot.exceptions.filter((stored) =>
        String(stored.item.value).includes('Demo error'),
      );
      expect(errors).toHaveLength(1);
      expect(errors[0]?.item).toMatchObject({
        type: 'Error',
        value: 'Demo error: the checkout total is negative',
      });
      expect(
        (errors[0]?.item.stacktrace as { frames: unknown[] } | undefined)?.frames.length,
      ).toBeGreaterThan(0);
      expect(pageErrors).toEqual(['Demo error: the checkout total is negative']);

      const events = eventsNamed(snapshot, 'demo_button_clicked');
      expect(events).toHaveLength(1);
      expect(events[0]?.item).toMatchObject({
        domain: 'demo',
        attributes: { button: 'push-event' },
      });

      const measurements = snapshot.measurements.filter(
        (stored) => stored.item.type === 'demo_cart',
      );
      expect(measurements).toHaveLength(1);
      expect(measurements[0]?.item.values).toEqual({ items: 3, total: 42.5 });

      const spans = snapshot.spans.filter((stored) => stored.traceId === traceId);
      expect(spans).toHaveLength(1);
      expect(spans[0]?.item).toMatchObject({ traceId, spanId, kind: 3 });
      const fetchEvent = eventsNamed(snapshot, 'faro.tracing.fetch').find(
        (stored) => stored.traceId === traceId,
      );
      expect(fetchEvent?.item.trace).toEqual({ trace_id: traceId, span_id: spanId });

      for (const stored of allItems(snapshot)) {
        expect(stored.appId).toBe(app);
        expect(stored.sessionId).toBe(sessionId);
        expect((stored.meta.app as Record<string, unknown>).name).toBe('pharos-demo');
      }

      const answered = await posts.settled();
      expect(answered.length).toBeGreaterThan(0);
      expect(answered.map((post) => post.status)).toEqual(answered.map(() => 202));
    } finally {
      await context.close();
    }
  }, 60_000);
});

const DEMO_LOG = 'Hello from the Pharos demo';

function missingItems(snapshot: Snapshot, traceId: string): string[] {
  const missing: string[] = [];
  if (eventsNamed(snapshot, 'session_start').length === 0) missing.push('session_start event');
  if (!snapshot.logs.some((stored) => stored.item.message === DEMO_LOG)) missing.push('the log');
  if (!snapshot.exceptions.some((stored) => String(stored.item.value).includes('Demo error')))
    missing.push('the uncaught error');
  if (eventsNamed(snapshot, 'demo_button_clicked').length === 0) missing.push('the event');
  if (!snapshot.measurements.some((stored) => stored.item.type === 'demo_cart'))
    missing.push('the measurement');
  if (!snapshot.spans.some((stored) => stored.traceId === traceId))
    missing.push(`the fetch span (trace ${traceId})`);
  if (!eventsNamed(snapshot, 'faro.tracing.fetch').some((stored) => stored.traceId === traceId))
    missing.push('the faro.tracing.fetch event');
  return missing;
}
