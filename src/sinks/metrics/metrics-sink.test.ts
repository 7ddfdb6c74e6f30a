import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { collectRequests, readFixtureJson } from '../../../test/helpers/fixtures.js';
import {
  FIXTURE_SENDER,
  acceptedBatch,
  pagePayload,
  webVital,
} from '../../../test/metrics/batches.js';
import { createMetricsSink, type MetricsSinkOptions } from './metrics-sink.js';
import { createRumMetrics, type RumMetrics } from './rum-metrics.js';

const silent = pino({ level: 'silent' });
const SHOP = { tenantId: 'acme', appId: 'shop' };

function setup(options: MetricsSinkOptions = {}, metrics?: (registry: Registry) => RumMetrics) {
  const registry = new Registry();
  const sink = createMetricsSink(options, {
    registry,
    logger: silent,
    ...(metrics ? { metrics: metrics(registry) } : {}),
  });
  /** Samples of one metric (for a histogram: `_bucket`, `_sum` and `_count` ones). */
  const samples = async (name: string): Promise<MetricValueWithName<string>[]> => {
    const metric = registry.getSingleMetric(name);
    if (!metric) throw new Error(`${name} is not registered`);
    return ((await metric.get()) as MetricObjectWithValues<MetricValueWithName<string>>).values;
  };
  /** The value of the one sample of `name` (with its suffix) whose labels include `labels`. */
  const value = async (
    name: string,
    labels: Record<string, string | number>,
    suffix = '',
  ): Promise<number | undefined> => {
    const matching = (await samples(name)).filter(
      (sample) =>
        (sample.metricName ?? name) === name + suffix &&
        Object.entries(labels).every(([key, expected]) => sample.labels[key] === expected),
    );
    if (matching.length > 1) throw new Error(`${matching.length} samples match`);
    return matching[0]?.value;
  };
  /** Label values of `label` among the samples of a counter. */
  const labelValues = async (name: string, label: string): Promise<string[]> =>
    (await samples(name)).map((sample) => String(sample.labels[label])).sort();
  return { registry, sink, samples, value, labelValues };
}

describe('metrics sink: the fixtures', () => {
  it('records the page load of the real SDK: FCP, TTFB, page load, session, events', async () => {
    const { sink, value, samples } = setup();
    sink.offer(
      acceptedBatch(
        readFixtureJson(
          '01-main-page-load--ev_session_start+ev_faro.performance.navigation+webvital_fcp+webvital_ttfb.json',
        ),
      ),
    );
    const labels = {
      tenant: 'capture',
      app: 'capture-app',
      environment: 'test',
      route: '/s/main',
      rating: 'good',
    };
    // The vital's own value only (fcp = 284 ms), not delta or the attribution numbers.
    expect(await value('pharos_web_vitals_fcp_seconds', labels, '_count')).toBe(1);
    expect(await value('pharos_web_vitals_fcp_seconds', labels, '_sum')).toBe(0.284);
    expect(await value('pharos_web_vitals_fcp_seconds', { ...labels, le: 0.2 }, '_bucket')).toBe(0);
    expect(await value('pharos_web_vitals_fcp_seconds', { ...labels, le: 0.4 }, '_bucket')).toBe(1);
    expect(await value('pharos_web_vitals_ttfb_seconds', labels, '_sum')).toBe(
      51.699999999953434 / 1000,
    );
    expect(await samples('pharos_web_vitals_lcp_seconds')).toEqual([]);

    const page = { tenant: 'capture', app: 'capture-app', environment: 'test' };
    expect(await value('pharos_page_loads_total', { ...page, route: '/s/main' })).toBe(1);
    expect(await value('pharos_sessions_started_total', page)).toBe(1);
    expect(await value('pharos_events_total', { ...page, name: 'session_start' })).toBe(1);
    expect(
      await value('pharos_events_total', { ...page, name: 'faro.performance.navigation' }),
    ).toBe(1);
    expect(await samples('pharos_metrics_series_overflow_total')).toEqual([]);
  });

  it('records every accepted capture: vitals by route, exceptions by type, sessions, page loads', async () => {
    const { sink, value, samples, labelValues } = setup();
    for (const request of collectRequests.filter((r) => r.response.status === 202)) {
      sink.offer(acceptedBatch(readFixtureJson(request.file), FIXTURE_SENDER));
    }
    const counts = async (name: string) =>
      (await samples(name))
        .filter((sample) => sample.metricName === `${name}_count`)
        .reduce((sum, sample) => sum + sample.value, 0);
    // The fixture README's table: 7 page loads with FCP and TTFB, 7 LCP and CLS, 1 INP.
    expect(await counts('pharos_web_vitals_lcp_seconds')).toBe(7);
    expect(await counts('pharos_web_vitals_fcp_seconds')).toBe(7);
    expect(await counts('pharos_web_vitals_ttfb_seconds')).toBe(7);
    expect(await counts('pharos_web_vitals_inp_seconds')).toBe(1);
    expect(await counts('pharos_web_vitals_cls')).toBe(7);
    expect(await labelValues('pharos_page_loads_total', 'route')).toEqual([
      '/s/gzip',
      '/s/main',
      '/s/rate-limit-429',
      '/s/rate-limit-429-no-expose',
      '/s/retries-exhausted',
      '/s/session-invalid',
    ]);
    const page = { tenant: 'capture', app: 'capture-app', environment: 'test' };
    // session_start in 6 page loads; the reload of "main" resumed its session (session_resume).
    expect(await value('pharos_sessions_started_total', page)).toBe(6);
    expect(await value('pharos_page_loads_total', { ...page, route: '/s/main' })).toBe(2);
    expect(await value('pharos_exceptions_total', { ...page, type: 'Error' })).toBe(3);
    expect(await value('pharos_exceptions_total', { ...page, type: 'RangeError' })).toBe(1);
    expect(await value('pharos_exceptions_total', { ...page, type: 'TypeError' })).toBe(1);
    expect(await value('pharos_events_total', { ...page, name: 'checkout_started' })).toBe(1);
    expect(await value('pharos_events_total', { ...page, name: 'faro.tracing.fetch' })).toBe(2);
  });
});

describe('metrics sink: web vitals', () => {
  it('puts values in the bucket whose inclusive upper bound holds them, in seconds', async () => {
    const { sink, value } = setup();
    const url = 'https://shop.example.com/';
    sink.offer(
      acceptedBatch(
        pagePayload(url, {
          measurements: [
            webVital('lcp', 2500, 'good'),
            webVital('lcp', 2501, 'needs-improvement'),
            webVital('inp', 200, 'good'),
            webVital('cls', 0, 'good'),
            webVital('ttfb', 1800, 'needs-improvement'),
          ],
        }),
        SHOP,
      ),
    );
    const labels = { tenant: 'acme', app: 'shop', environment: 'production', route: '/' };
    const bucket = (name: string, rating: string, le: number) =>
      value(name, { ...labels, rating, le }, '_bucket');

    expect(await bucket('pharos_web_vitals_lcp_seconds', 'good', 2)).toBe(0);
    expect(await bucket('pharos_web_vitals_lcp_seconds', 'good', 2.5)).toBe(1);
    expect(await bucket('pharos_web_vitals_lcp_seconds', 'needs-improvement', 2.5)).toBe(0);
    expect(await bucket('pharos_web_vitals_lcp_seconds', 'needs-improvement', 3)).toBe(1);
    expect(await bucket('pharos_web_vitals_inp_seconds', 'good', 0.15)).toBe(0);
    expect(await bucket('pharos_web_vitals_inp_seconds', 'good', 0.2)).toBe(1);
    expect(await bucket('pharos_web_vitals_cls', 'good', 0)).toBe(1);
    expect(await bucket('pharos_web_vitals_ttfb_seconds', 'needs-improvement', 1.4)).toBe(0);
    expect(await bucket('pharos_web_vitals_ttfb_seconds', 'needs-improvement', 1.8)).toBe(1);
    expect(
      await value('pharos_web_vitals_lcp_seconds', { ...labels, rating: 'good' }, '_sum'),
    ).toBe(2.5);
  });

  it('counts only web-vitals measurements with a usable own value', async () => {
    const { sink, samples } = setup();
    sink.offer(
      acceptedBatch(
        pagePayload('https://shop.example.com/', {
          measurements: [
            { type: 'cart_metrics', values: { lcp: 1000, cart_value: 42 } },
            { type: 'web-vitals', values: { delta: 100, time_to_first_byte: 12 } },
            { type: 'web-vitals', values: { fid: 12, delta: 12 } },
            { type: 'web-vitals', values: { lcp: -1, delta: -1 } },
            { type: 'web-vitals' },
          ],
        }),
        SHOP,
      ),
    );
    for (const name of ['lcp', 'fcp', 'ttfb', 'inp'])
      expect(await samples(`pharos_web_vitals_${name}_seconds`)).toEqual([]);
    expect(await samples('pharos_web_vitals_cls')).toEqual([]);
  });

  it('labels: Pharos app id, "unknown" environment and route when absent, rating computed when not sent', async () => {
    const { sink, value } = setup();
    sink.offer(
      acceptedBatch(
        pagePayload(
          undefined,
          {
            measurements: [webVital('lcp', 5000), webVital('cls', 0.05, 'excellent')],
          },
          null,
        ),
        SHOP,
      ),
    );
    const labels = { tenant: 'acme', app: 'shop', environment: 'unknown', route: 'unknown' };
    expect(
      await value('pharos_web_vitals_lcp_seconds', { ...labels, rating: 'poor' }, '_count'),
    ).toBe(1);
    expect(await value('pharos_web_vitals_cls', { ...labels, rating: 'good' }, '_count')).toBe(1);
  });

  it('templates the page URL with the configured patterns first', async () => {
    const { sink, labelValues } = setup({ routes: ['/docs/*'] });
    for (const url of [
      'https://shop.example.com/products/12345?ref=home',
      'https://shop.example.com/products/67890#reviews',
      'https://shop.example.com/docs/intro',
      'https://shop.example.com/docs/api/metrics/',
    ]) {
      sink.offer(acceptedBatch(pagePayload(url, { measurements: [webVital('lcp', 1200)] }), SHOP));
    }
    expect(new Set(await labelValues('pharos_web_vitals_lcp_seconds', 'route'))).toEqual(
      new Set(['/docs/*', '/products/:id']),
    );
  });
});

describe('metrics sink: counters', () => {
  it('takes the route of a page load from the loaded document, else from the page', async () => {
    const { sink, value } = setup();
    const navigation = (name: string) => ({
      name: 'faro.performance.navigation',
      attributes: { name, duration: '633' },
    });
    sink.offer(
      acceptedBatch(
        pagePayload('https://shop.example.com/checkout', {
          events: [
            navigation('https://shop.example.com/products/12'),
            navigation('unknown'),
            { name: 'faro.performance.navigation' },
          ],
        }),
        SHOP,
      ),
    );
    const labels = { tenant: 'acme', app: 'shop', environment: 'production' };
    expect(await value('pharos_page_loads_total', { ...labels, route: '/products/:id' })).toBe(1);
    expect(await value('pharos_page_loads_total', { ...labels, route: '/checkout' })).toBe(2);
  });

  it('counts all events by name, and exceptions by type ("unknown" without one)', async () => {
    const { sink, value } = setup();
    sink.offer(
      acceptedBatch(
        pagePayload('https://shop.example.com/', {
          events: [{ name: 'add_to_cart' }, { name: 'add_to_cart' }, { name: 'session_resume' }],
          exceptions: [{ type: 'TypeError', value: 'x is undefined' }, { value: 'no type' }],
        }),
        SHOP,
      ),
    );
    const labels = { tenant: 'acme', app: 'shop', environment: 'production' };
    expect(await value('pharos_events_total', { ...labels, name: 'add_to_cart' })).toBe(2);
    expect(await value('pharos_events_total', { ...labels, name: 'session_resume' })).toBe(1);
    expect(await value('pharos_sessions_started_total', labels)).toBeUndefined();
    expect(await value('pharos_exceptions_total', { ...labels, type: 'TypeError' })).toBe(1);
    expect(await value('pharos_exceptions_total', { ...labels, type: 'unknown' })).toBe(1);
  });
});

describe('metrics sink: caps', () => {
  it('records new routes past the per-tenant cap as "other" and counts the overflow', async () => {
    const { sink, value, labelValues } = setup({ maxSeriesPerTenant: 3 });
    const lcpOn = (tenantId: string, path: string) =>
      sink.offer(
        acceptedBatch(
          pagePayload(`https://shop.example.com${path}`, {
            measurements: [webVital('lcp', 1000, 'good')],
          }),
          { tenantId, appId: 'shop' },
        ),
      );
    for (const path of ['/a', '/b', '/c', '/d', '/e', '/a', '/e']) lcpOn('acme', path);
    lcpOn('globex', '/x');

    expect(await labelValues('pharos_web_vitals_lcp_seconds', 'route')).toEqual(
      expect.arrayContaining(['/a', '/b', '/c', 'other', '/x']),
    );
    const acme = { tenant: 'acme', app: 'shop', environment: 'production', rating: 'good' };
    const count = (route: string, labels = acme) =>
      value('pharos_web_vitals_lcp_seconds', { ...labels, route }, '_count');
    expect(await count('/a')).toBe(2);
    expect(await count('other')).toBe(3);
    expect(await count('/d')).toBeUndefined();
    expect(await count('/x', { ...acme, tenant: 'globex' })).toBe(1);
    expect(
      await value('pharos_metrics_series_overflow_total', {
        tenant: 'acme',
        metric: 'pharos_web_vitals_lcp_seconds',
      }),
    ).toBe(3);
    expect(
      await value('pharos_metrics_series_overflow_total', {
        tenant: 'globex',
        metric: 'pharos_web_vitals_lcp_seconds',
      }),
    ).toBeUndefined();
  });

  it('caps event names, exception types and environments the same way', async () => {
    const { sink, labelValues, value } = setup({
      maxSeriesPerTenant: 2,
      maxEnvironmentsPerTenant: 1,
    });
    for (const name of ['a', 'b', 'c', 'd']) {
      sink.offer(
        acceptedBatch(
          pagePayload('https://shop.example.com/', {
            events: [{ name }],
            exceptions: [{ type: `${name.toUpperCase()}Error` }],
          }),
          SHOP,
        ),
      );
    }
    sink.offer(
      acceptedBatch(
        pagePayload('https://shop.example.com/', { events: [{ name: 'a' }] }, 'staging'),
        SHOP,
      ),
    );
    expect(await labelValues('pharos_events_total', 'name')).toEqual(['a', 'b', 'other', 'other']);
    expect(await labelValues('pharos_events_total', 'environment')).toEqual([
      'other',
      'production',
      'production',
      'production',
    ]);
    expect(await labelValues('pharos_exceptions_total', 'type')).toEqual([
      'AError',
      'BError',
      'other',
    ]);
    const overflow = (metric: string) =>
      value('pharos_metrics_series_overflow_total', { tenant: 'acme', metric });
    // c and d past the cap, and the staging event past the environment cap.
    expect(await overflow('pharos_events_total')).toBe(3);
    expect(await overflow('pharos_exceptions_total')).toBe(2);
  });
});

describe('metrics sink: the Sink contract', () => {
  it('always has room, and flushes and closes at once', async () => {
    const { sink } = setup();
    const batch = acceptedBatch(pagePayload('https://shop.example.com/', {}), SHOP);
    expect(sink.name).toBe('metrics');
    expect(sink.hasRoom(batch)).toBe(true);
    expect(sink.offer(batch)).toBeUndefined();
    await expect(sink.flush()).resolves.toBeUndefined();
    await expect(sink.close()).resolves.toBeUndefined();
    await expect(sink.close()).resolves.toBeUndefined();
  });

  it('shares the metric families of one registry between sinks', async () => {
    const registry = new Registry();
    const metrics = createRumMetrics(registry);
    const first = createMetricsSink({}, { registry, metrics, logger: silent });
    const second = createMetricsSink({}, { registry, metrics, logger: silent });
    const batch = acceptedBatch(
      pagePayload('https://shop.example.com/', { events: [{ name: 'x' }] }),
      SHOP,
    );
    first.offer(batch);
    second.offer(batch);
    expect(await registry.metrics()).toContain(
      'pharos_events_total{tenant="acme",app="shop",environment="production",name="x"} 2',
    );
  });

  it('never refuses a batch when recording fails, and logs it once a minute', () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'error' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const registry = new Registry();
    const metrics = createRumMetrics(registry);
    const broken: RumMetrics = {
      ...metrics,
      exceptions: Object.assign(Object.create(metrics.exceptions) as RumMetrics['exceptions'], {
        labels: () => {
          throw new Error('registry is broken');
        },
      }),
    };
    const sink = createMetricsSink({}, { registry, metrics: broken, logger });
    const batch = acceptedBatch(
      pagePayload('https://shop.example.com/', { exceptions: [{ type: 'Error' }] }),
      SHOP,
    );
    expect(() => sink.offer(batch)).not.toThrow();
    expect(() => sink.offer(batch)).not.toThrow();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('registry is broken');
  });
});
