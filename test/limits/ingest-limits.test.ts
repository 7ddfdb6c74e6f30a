import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideSession } from '../../src/admission/sampling.js';
import { ERRORS } from '../../src/errors/index.js';
import { generateSessionId } from '../../packages/faro-remote-config/src/index.js';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';
import { sumCounter } from '../idempotency/gateway.js';
import { faroPayload, postCollect } from '../idempotency/requests.js';

/**
 * Limits and load shedding on the real /collect route: what the browser is told, and that a
 * refused request changes nothing. The bucket arithmetic itself is covered in limiter.test.ts and
 * against real Redis in redis-limiter.test.ts.
 */

const ORIGIN = 'https://shop.example';
const NOT_JSON = '{ not json';

const app = (id: string, key: string, extra: Record<string, unknown> = {}) => ({
  id,
  keys: [key],
  allowedOrigins: [ORIGIN],
  ...extra,
});

describe('rate limits on /collect', () => {
  let pharos: TestPharos;

  beforeAll(async () => {
    pharos = await startTestPharos({
      demo: { enabled: false },
      tenants: [
        {
          // 0.5 requests/s: after the burst the next request fits in 2 s.
          id: 'slow',
          limits: { requests: { perSecond: 0.5, burst: 3 } },
          apps: [app('slow-app', 'slow-key-0123456789')],
        },
        {
          id: 'items',
          limits: { items: { perSecond: 0.1, burst: 10 } },
          apps: [app('items-app', 'items-key-0123456789')],
        },
        {
          id: 'apps',
          apps: [
            app('capped-app', 'capped-key-0123456789', {
              limits: { requests: { perSecond: 0.2, burst: 1 } },
            }),
            app('free-app', 'free-key-01234567890'),
          ],
        },
        {
          id: 'sampled',
          limits: { requests: { perSecond: 0.1, burst: 1 } },
          apps: [app('sampled-app', 'sampled-key-0123456789', { samplingRate: 0.5 })],
        },
      ],
    });
  });
  afterAll(() => pharos?.stop());

  const ingested = async (tenant: string) => {
    await pharos.flush();
    const text = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
    return sumCounter(text, 'pharos_items_received_total', { tenant });
  };

  it('answers 429 with Retry-After from the bucket and CORS headers, before reading the body', async () => {
    for (let request = 0; request < 3; request++) {
      const answer = await postCollect(pharos.publicUrl, 'slow-key-0123456789', {
        origin: ORIGIN,
        payload: faroPayload({ events: 1 }),
      });
      expect(answer.status).toBe(202);
    }
    // Not JSON: a read body would be refused with 400; 429 proves the limit came first.
    const refused = await postCollect(pharos.publicUrl, 'slow-key-0123456789', {
      origin: ORIGIN,
      body: NOT_JSON,
    });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(String(refused.headers['access-control-expose-headers'])).toMatch(/Retry-After/i);
    const body = JSON.parse(refused.body) as { code: string; statusCode: number; message: string };
    expect(body).toMatchObject({ statusCode: 429, code: ERRORS.RATE_LIMITED.code });
    expect(body.message).toContain('tenant slow is over its limit of 0.5 requests/s (burst 3)');
    expect(await ingested('slow')).toBe(3);
  });

  it('refuses a payload over the items limit whole, after parsing, and takes the next that fits', async () => {
    const first = await postCollect(pharos.publicUrl, 'items-key-0123456789', {
      payload: faroPayload({ events: 8 }),
    });
    expect(first.status).toBe(202);
    const tooMany = await postCollect(pharos.publicUrl, 'items-key-0123456789', {
      payload: faroPayload({ events: 5 }),
    });
    expect(tooMany.status).toBe(429);
    expect(JSON.parse(tooMany.body)).toMatchObject({ code: ERRORS.RATE_LIMITED.code });
    expect((JSON.parse(tooMany.body) as { message: string }).message).toContain(
      'tenant items is over its limit of 0.1 items/s',
    );
    // 5 items at 0.1/s: 30 s or more until they fit (3 were left of the burst).
    expect(Number(tooMany.headers['retry-after'])).toBeGreaterThanOrEqual(20);
    const fits = await postCollect(pharos.publicUrl, 'items-key-0123456789', {
      payload: faroPayload({ events: 2 }),
    });
    expect(fits.status).toBe(202);
    expect(await ingested('items')).toBe(10);
  });

  it("holds an app's own limit without touching its sibling app in the same tenant", async () => {
    const capped = 'capped-key-0123456789';
    expect((await postCollect(pharos.publicUrl, capped, { origin: ORIGIN })).status).toBe(202);
    const refused = await postCollect(pharos.publicUrl, capped, { origin: ORIGIN });
    expect(refused.status).toBe(429);
    expect((JSON.parse(refused.body) as { message: string }).message).toContain(
      'app capped-app is over its limit',
    );
    for (let request = 0; request < 10; request++) {
      const free = await postCollect(pharos.publicUrl, 'free-key-01234567890', { origin: ORIGIN });
      expect(free.status).toBe(202);
    }
  });

  it('does not charge a sampled-out session to the limits', async () => {
    let dropped: string;
    do dropped = generateSessionId();
    while (decideSession(dropped, 0.5) !== 'drop');
    for (let request = 0; request < 5; request++) {
      const answer = await postCollect(pharos.publicUrl, 'sampled-key-0123456789', {
        sessionHeader: dropped,
        payload: faroPayload({ sessionId: dropped }),
      });
      expect(answer.status).toBe(202);
    }
    let kept: string;
    do kept = generateSessionId();
    while (decideSession(kept, 0.5) !== 'keep');
    // The burst of 1 is still whole: the dropped session took nothing from it.
    const first = await postCollect(pharos.publicUrl, 'sampled-key-0123456789', {
      sessionHeader: kept,
      payload: faroPayload({ sessionId: kept }),
    });
    expect(first.status).toBe(202);
    const second = await postCollect(pharos.publicUrl, 'sampled-key-0123456789', {
      sessionHeader: kept,
      payload: faroPayload({ sessionId: kept }),
    });
    expect(second.status).toBe(429);
  });
});

describe('load shedding on /collect', () => {
  let pharos: TestPharos;

  beforeAll(async () => {
    pharos = await startTestPharos({
      demo: { enabled: false },
      // Far above what a busy test machine's scheduling adds, far below the stalls made below.
      shedding: { maxEventLoopDelay: '150ms' },
      tenants: [{ id: 'shed', apps: [app('shed-app', 'shed-key-0123456789')] }],
    });
    // Nothing is shed during the first window after start.
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });
  afterAll(() => pharos?.stop());

  /** Blocks this process's event loop (Pharos runs in it) `times` times for `ms`. */
  async function stall(times: number, ms: number): Promise<void> {
    for (let stalled = 0; stalled < times; stalled++) {
      const until = performance.now() + ms;
      while (performance.now() < until);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('answers 503 with Retry-After while the event loop lags, and takes requests again after', async () => {
    expect((await postCollect(pharos.publicUrl, 'shed-key-0123456789')).status).toBe(202);
    await stall(6, 300);
    // Let the shedder's own timer read the stalls.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const shed = await postCollect(pharos.publicUrl, 'shed-key-0123456789', { body: NOT_JSON });
    expect(shed.status).toBe(503);
    expect(shed.headers['retry-after']).toBe('2');
    expect(JSON.parse(shed.body)).toMatchObject({ code: ERRORS.OVERLOADED.code });
    const text = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
    expect(text).toMatch(/^pharos_event_loop_delay_seconds \d/m);

    // Quiet for more than a window: the delay is gone and requests are taken again (polled: on
    // a loaded machine the window after the stalls may take a little longer to clear).
    const deadline = Date.now() + 15_000;
    let status = 503;
    while (status === 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (await postCollect(pharos.publicUrl, 'shed-key-0123456789')).status;
    }
    expect(status).toBe(202);
  });
});
