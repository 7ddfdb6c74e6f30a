import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sender } from '../../src/model/index.js';
import { WEB_VITALS, type VitalName } from '../../src/sinks/metrics/index.js';
import { collectRequests, readFixtureJson, type FaroBody } from '../helpers/fixtures.js';
import { FIXTURE_SENDER, pagePayload, webVital } from './batches.js';
import { startMetricsHarness, type MetricsHarness } from './metrics-harness.js';
import { startPrometheus, waitFor, type RunningPrometheus } from './prometheus.js';

/**
 * Web vitals through a real Prometheus: the payloads go into a real Pharos through its public
 * listener, Prometheus scrapes Pharos's internal /metrics, and the p75 per route
 * that Prometheus computes must be the one expected from the raw measurements. The expectation
 * is computed here from the measured milliseconds, the documented bucket bounds and Prometheus's
 * interpolation, so the test fails if the sink puts a value in the wrong bucket or unit.
 */

const SHOP: Sender = { tenantId: 'acme', appId: 'shop' };

/** Synthetic page views with known values, several URLs per route, spread across buckets. */
const SYNTHETIC: {
  route: string;
  urls: string[];
  lcpMs: number[];
  cls: number[];
}[] = [
  {
    route: '/products/:id',
    urls: [
      'https://shop.example.com/products/1842?ref=home',
      'https://shop.example.com/products/77#reviews',
      'https://shop.example.com/products/507f1f77bcf86cd799439011/',
    ],
    lcpMs: [640, 900, 1250, 1480, 1900, 2300, 2450, 2600, 3100, 3700, 4400, 6100],
    cls: [0, 0, 0, 0.02, 0.08, 0.12, 0.3],
  },
  {
    route: '/checkout',
    urls: ['https://shop.example.com/checkout/', 'https://shop.example.com/checkout?step=2'],
    lcpMs: [1800, 2200, 2900, 3300, 3600, 4100, 5200, 7400],
    // Three quarters of the page views never shift: p75 is exactly 0 (the `le="0"` bucket).
    cls: [0, 0, 0, 0.4],
  },
  {
    route: '/docs/*',
    urls: ['https://shop.example.com/docs/intro', 'https://shop.example.com/docs/api/metrics'],
    lcpMs: [300, 420, 510, 700, 760, 980],
    cls: [0.05, 0.11, 0.26, 0.4],
  },
  {
    // Values on the good threshold itself: `le` is inclusive, so 2.5 s is in the 2.5 bucket.
    route: '/',
    urls: ['https://shop.example.com/', 'https://shop.example.com/?utm_source=mail'],
    lcpMs: [2500, 2500, 2500, 2501],
    cls: [0.1, 0.1, 0.1],
  },
  {
    // Over a quarter beyond the last bound: Prometheus answers the highest finite bound.
    route: '/search',
    urls: ['https://shop.example.com/search?q=shoes'],
    lcpMs: [900, 16_000, 21_000, 30_000],
    cls: [],
  },
  {
    route: '/users/:id/orders',
    urls: [
      'https://shop.example.com/users/3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b/orders',
      'https://shop.example.com/users/42/orders',
    ],
    lcpMs: [1100, 1300, 1700],
    cls: [0.01],
  },
];

/** Web-vitals values of the accepted fixture requests, by the path of their page. */
function fixtureValues(name: VitalName): Map<string, number[]> {
  const byPath = new Map<string, number[]>();
  for (const request of collectRequests.filter((r) => r.response.status === 202)) {
    const body = readFixtureJson(request.file);
    for (const measurement of body.measurements ?? []) {
      const value = (measurement.values as Record<string, number> | undefined)?.[name];
      if (measurement.type !== 'web-vitals' || value === undefined) continue;
      // The fixtures' paths (`/s/main`, `/s/rate-limit-429`) hold no id: the route is the path.
      const path = new URL(pageUrl(body)).pathname;
      byPath.set(path, [...(byPath.get(path) ?? []), value]);
    }
  }
  return byPath;
}

function pageUrl(body: FaroBody): string {
  const page = body.meta?.page as { url?: string } | undefined;
  if (!page?.url) throw new Error('a fixture without meta.page.url');
  return page.url;
}

/**
 * `histogram_quantile(q, …)` of a classic histogram holding `values`, as Prometheus computes it
 * (promql/quantile.go, bucketQuantile): cumulative counts per upper bound (`value ≤ le`), rank
 * = q × total; the first bucket whose cumulative count reaches the rank holds the quantile,
 * which is interpolated linearly between the bucket's lower and upper bound; the lower bound of
 * the first bucket is 0; a quantile in the `+Inf` bucket is the highest finite bound; a first
 * bucket with an upper bound ≤ 0 answers that bound.
 */
function expectedQuantile(q: number, values: readonly number[], bounds: readonly number[]): number {
  const upperBounds = [...bounds, Infinity];
  const cumulative = upperBounds.map((bound) => values.filter((value) => value <= bound).length);
  const total = values.length;
  const rank = q * total;
  const bucket = cumulative.findIndex((count) => count >= rank);
  const upper = upperBounds[bucket];
  const reached = cumulative[bucket];
  if (upper === undefined || reached === undefined) throw new Error('no bucket holds the rank');
  if (bucket === upperBounds.length - 1) return bounds[bounds.length - 1] ?? NaN;
  if (bucket === 0 && upper <= 0) return upper;
  const lower = bucket === 0 ? 0 : (upperBounds[bucket - 1] ?? 0);
  const below = bucket === 0 ? 0 : (cumulative[bucket - 1] ?? 0);
  return lower + (upper - lower) * ((rank - below) / (reached - below));
}

function bucketsOf(name: VitalName): readonly number[] {
  const vital = WEB_VITALS.find((definition) => definition.name === name);
  if (!vital) throw new Error(`no vital ${name}`);
  return vital.buckets;
}

/** Expected per route: the fixtures' values and the synthetic ones, in the metric's unit. */
function expectedValuesByRoute(
  name: 'lcp' | 'cls',
  toMetricUnit: (sent: number) => number,
): Map<string, number[]> {
  const byRoute = new Map<string, number[]>();
  for (const [path, values] of fixtureValues(name)) byRoute.set(path, values.map(toMetricUnit));
  for (const { route, lcpMs, cls } of SYNTHETIC) {
    const sent = name === 'lcp' ? lcpMs : cls;
    if (sent.length > 0) byRoute.set(route, sent.map(toMetricUnit));
  }
  return byRoute;
}

const LCP_SECONDS_BY_ROUTE = expectedValuesByRoute('lcp', (ms) => ms / 1000);
const CLS_BY_ROUTE = expectedValuesByRoute('cls', (cls) => cls);
const count = (byRoute: Map<string, number[]>) =>
  [...byRoute.values()].reduce((sum, values) => sum + values.length, 0);

describe('web vitals in a real Prometheus', () => {
  let harness: MetricsHarness;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    harness = await startMetricsHarness({ routes: ['/docs/*'] });
    for (const request of collectRequests.filter((r) => r.response.status === 202)) {
      await harness.send(readFixtureJson(request.file), FIXTURE_SENDER);
    }
    for (const { urls, lcpMs, cls } of SYNTHETIC) {
      for (const [index, lcp] of lcpMs.entries()) {
        const url = urls[index % urls.length];
        await harness.send(pagePayload(url, { measurements: [webVital('lcp', lcp)] }), SHOP);
      }
      for (const [index, value] of cls.entries()) {
        const url = urls[index % urls.length];
        await harness.send(pagePayload(url, { measurements: [webVital('cls', value)] }), SHOP);
      }
    }

    prometheus = await startPrometheus({ targets: [harness.target], scrapeIntervalSeconds: 1 });
    // Everything was recorded before Prometheus started: the first scrape holds all of it. It
    // comes about 5 s after the start, because Prometheus hands new targets to its scrape
    // manager in 5 s batches (2.42 has no flag to shorten that).
    await waitFor(
      'Prometheus to scrape every page view',
      async () => {
        const [lcp] = await prometheus.query('sum(pharos_web_vitals_lcp_seconds_count)');
        const [cls] = await prometheus.query('sum(pharos_web_vitals_cls_count)');
        return lcp?.value === count(LCP_SECONDS_BY_ROUTE) && cls?.value === count(CLS_BY_ROUTE)
          ? true
          : undefined;
      },
      { timeoutMs: 20_000, describe: () => prometheus.log() },
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await harness?.close();
  });

  const quantilesByRoute = async (expression: string): Promise<Map<string, number>> => {
    const samples = await prometheus.query(expression);
    return new Map(samples.map((sample) => [sample.metric.route ?? '', sample.value]));
  };

  it('answers the p75 LCP of every route as interpolated from the measured milliseconds', async () => {
    const actual = await quantilesByRoute(
      'histogram_quantile(0.75, sum by (le, route) (pharos_web_vitals_lcp_seconds_bucket))',
    );
    expect([...actual.keys()].sort()).toEqual([...LCP_SECONDS_BY_ROUTE.keys()].sort());
    for (const [route, values] of LCP_SECONDS_BY_ROUTE) {
      const expected = expectedQuantile(0.75, values, bucketsOf('lcp'));
      expect({ route, p75: actual.get(route) }).toEqual({
        route,
        p75: expect.closeTo(expected, 9) as number,
      });
    }
    // Sanity of the expectation itself on a hand-checked case: /checkout, 8 values, rank 6, in
    // the (4, 5] bucket, which holds the 6th value (4.1 s) alone: 4 + 1 × (6 − 5) / 1 = 5.
    expect(actual.get('/checkout')).toBeCloseTo(5, 9);
    expect(actual.get('/')).toBeCloseTo(2.5, 9);
    expect(actual.get('/search')).toBe(15);
  });

  it('answers the p75 CLS of every route, unitless', async () => {
    const actual = await quantilesByRoute(
      'histogram_quantile(0.75, sum by (le, route) (pharos_web_vitals_cls_bucket))',
    );
    expect([...actual.keys()].sort()).toEqual([...CLS_BY_ROUTE.keys()].sort());
    for (const [route, values] of CLS_BY_ROUTE) {
      const expected = expectedQuantile(0.75, values, bucketsOf('cls'));
      expect({ route, p75: actual.get(route) }).toEqual({
        route,
        p75: expect.closeTo(expected, 9) as number,
      });
    }
    expect(actual.get('/checkout')).toBe(0);
  });

  it('gives the exact share of good page views from the threshold bucket', async () => {
    const actual = await quantilesByRoute(
      'sum by (route) (pharos_web_vitals_lcp_seconds_bucket{le="2.5"}) / sum by (route) (pharos_web_vitals_lcp_seconds_count)',
    );
    for (const [route, values] of LCP_SECONDS_BY_ROUTE) {
      const good = values.filter((seconds) => seconds <= 2.5).length / values.length;
      expect({ route, good: actual.get(route) }).toEqual({
        route,
        good: expect.closeTo(good, 12) as number,
      });
    }
  });
});
