import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { metricsText } from './exposition.js';
import { ROUTES, TENANTS, errorOf, expectSameText, random } from './testing/compare.js';
import { TalliedHistogram } from './tallied-histogram.js';

type Label = 'tenant' | 'route';
const BUCKETS = [0.005, 0.01, 0.25, 1, 2.5, 10];
/**
 * Bytes of heap and ArrayBuffers per web-vitals series: measured ~340 for TalliedHistogram and
 * ~580 for prom-client's Histogram (Node 20, no pointer compression).
 */
const BOUND_PER_SERIES = 450;

function pair() {
  const plainRegistry = new Registry();
  const talliedRegistry = new Registry();
  const config = {
    name: 'pharos_test_seconds',
    help: 'test',
    labelNames: ['tenant', 'route'] as const,
    buckets: BUCKETS,
  };
  return {
    plain: new Histogram<Label>({ ...config, registers: [plainRegistry] }),
    tallied: new TalliedHistogram<Label>({ ...config, registers: [talliedRegistry] }),
    plainRegistry,
    talliedRegistry,
  };
}

/** Bounds exactly, either side of them, zero, negatives, huge and tiny values. */
const EDGES = [
  ...BUCKETS,
  0,
  -0,
  -1,
  -1e9,
  1e300,
  Number.MIN_VALUE,
  0.0049999,
  2.5000001,
  0.1 + 0.2,
];

/**
 * `steps` random calls of every form that names all labels: positional children, `observe` with
 * objects in either key order, children held from the start (across removes and resets), and,
 * with `removals`, `remove` and `zero` in both forms and the odd `reset`.
 */
function play(histogram: Histogram<Label>, seed: number, steps: number, removals = false) {
  const next = random(seed);
  const pick = <V>(list: readonly V[]): V => list[Math.floor(next() * list.length)]!;
  const held = histogram.labels('acme', '/a');
  const heldByObject = histogram.labels({ route: '/b/:id', tenant: 'globex' });
  for (let step = 0; step < steps; step++) {
    const tenant = pick(TENANTS);
    const route = pick(ROUTES);
    const value = next() < 0.5 ? pick(EDGES) : next() * 30 - 5;
    switch (Math.floor(next() * (removals ? 10 : 7))) {
      case 0:
      case 1:
        histogram.labels(String(tenant), route).observe(value);
        break;
      case 2:
        histogram.observe({ tenant, route }, value);
        break;
      case 3:
        histogram.observe({ route, tenant }, value);
        break;
      case 4:
        histogram.labels({ route, tenant }).observe(value);
        break;
      case 5:
        held.observe(value);
        break;
      case 6:
        heldByObject.observe(value);
        break;
      case 7:
        histogram.remove(String(tenant), route);
        break;
      case 8:
        histogram.zero({ route, tenant });
        break;
      default:
        if (next() < 0.1) histogram.reset();
        else histogram.remove({ tenant, route });
    }
  }
}

describe('TalliedHistogram', () => {
  it('exposes exactly the text of a prom-client Histogram given the same calls, in the same order', async () => {
    const { plain, tallied, plainRegistry, talliedRegistry } = pair();
    for (const histogram of [plain, tallied]) play(histogram, 1, 3000);
    await expectSameText(talliedRegistry, plainRegistry);
    const text = await metricsText(talliedRegistry);
    // The bounds as prom-client writes them, cumulative counts and +Inf.
    expect(text).toMatch(
      /^pharos_test_seconds_bucket\{le="0.005",tenant="acme",route="\/a"\} \d+$/m,
    );
    // An object's key order, when an object created the series.
    expect(text).toMatch(
      /^pharos_test_seconds_bucket\{le="\+Inf",route="[^"]*",tenant="7"\} \d+$/m,
    );
    expect(text).toContain('tenant="a\\"b\\\\c\\nd"');

    // A read changes nothing: more calls after it, and the two still agree.
    for (const histogram of [plain, tallied]) play(histogram, 2, 1000);
    await expectSameText(talliedRegistry, plainRegistry);
  });

  it('agrees through removes, zeros and resets, and with children held across them', async () => {
    for (const seed of [3, 4, 5]) {
      const { plain, tallied, plainRegistry, talliedRegistry } = pair();
      for (const histogram of [plain, tallied]) play(histogram, seed, 2000, true);
      await expectSameText(talliedRegistry, plainRegistry);
    }
  });

  it('gives getMetricsAsJSON (the cluster aggregator input) and the aggregation of workers as prom-client', async () => {
    const workers = [pair(), pair()];
    workers.forEach((worker, i) => {
      for (const histogram of [worker.plain, worker.tallied])
        play(histogram, 10 + i, 1500, i === 1);
    });
    const plainJson = await Promise.all(workers.map((w) => w.plainRegistry.getMetricsAsJSON()));
    const talliedJson = await Promise.all(workers.map((w) => w.talliedRegistry.getMetricsAsJSON()));
    expect(talliedJson).toStrictEqual(plainJson);

    const plainCluster = AggregatorRegistry.aggregate(plainJson);
    const talliedCluster = AggregatorRegistry.aggregate(talliedJson);
    expect(await talliedCluster.metrics()).toBe(await plainCluster.metrics());
    expect(await talliedCluster.getMetricsAsJSON()).toStrictEqual(
      await plainCluster.getMetricsAsJSON(),
    );
  });

  it('leaves what does not name every label to prom-client (listed first)', async () => {
    const { plain, tallied, plainRegistry, talliedRegistry } = pair();
    for (const histogram of [plain, tallied]) {
      histogram.labels('acme', '/a').observe(0.3);
      histogram.observe({ tenant: 'acme' }, 2);
      histogram.labels({ route: '/b' }).observe(0.001);
      histogram.observe(4);
      histogram.labels('acme', '/a').observe(11);
    }
    const lines = async (text: Promise<string>) => (await text).split('\n').sort();
    const expected = await lines(plainRegistry.metrics());
    expect(await lines(talliedRegistry.metrics())).toEqual(expected);
    expect(await lines(metricsText(talliedRegistry))).toEqual(expected);
    expect(await talliedRegistry.metrics()).toContain('pharos_test_seconds_count{tenant="acme"} 1');
  });

  it('works without labels, all in prom-client', async () => {
    const plainRegistry = new Registry();
    const talliedRegistry = new Registry();
    const config = { name: 'pharos_test_seconds', help: 'test', buckets: BUCKETS };
    const plain = new Histogram({ ...config, registers: [plainRegistry] });
    const tallied = new TalliedHistogram({ ...config, registers: [talliedRegistry] });
    await expectSameText(talliedRegistry, plainRegistry);
    for (const histogram of [plain, tallied]) {
      histogram.observe(0.3);
      histogram.labels().observe(3);
    }
    await expectSameText(talliedRegistry, plainRegistry);
  });

  it('returns the same child for the same values, and fails as prom-client does', async () => {
    const { plain, tallied, plainRegistry, talliedRegistry } = pair();
    expect(tallied.labels('acme', '/a')).toBe(tallied.labels('acme', '/a'));
    expect(tallied.labels('acme', '/a')).not.toBe(tallied.labels('acme', '/b'));

    const wrongCount = errorOf(() => plain.labels('acme'));
    expect(wrongCount?.message).toMatch(/Invalid number of arguments/);
    expect(errorOf(() => tallied.labels('acme'))).toEqual(wrongCount);
    expect(errorOf(() => tallied.labels('acme', '/a', 'x'))).toEqual(
      errorOf(() => plain.labels('acme', '/a', 'x')),
    );
    for (const unknownLabel of [
      { tenant: 'acme', path: '/a' },
      { tenant: 'acme', route: '/a', path: '/a' },
    ] as never[]) {
      const expected = errorOf(() => plain.labels(unknownLabel));
      expect(expected?.message).toMatch(/not included in initial labelset/);
      expect(errorOf(() => tallied.labels(unknownLabel))).toEqual(expected);
      expect(errorOf(() => tallied.observe(unknownLabel, 1))).toEqual(
        errorOf(() => plain.observe(unknownLabel, 1)),
      );
    }

    for (const value of [Number.NaN, Infinity, -Infinity, '1', undefined, null, {}]) {
      const invalid = value as number;
      const expected = errorOf(() => plain.labels('acme', '/a').observe(invalid));
      expect(expected).toMatchObject({ name: 'TypeError', message: /not a valid number/ });
      expect(errorOf(() => tallied.labels('acme', '/a').observe(invalid))).toEqual(expected);
      expect(errorOf(() => tallied.observe({ tenant: 'acme', route: '/b' }, invalid))).toEqual(
        errorOf(() => plain.observe({ tenant: 'acme', route: '/b' }, invalid)),
      );
    }
    // Nothing was created by the failed calls.
    await expectSameText(talliedRegistry, plainRegistry);
    expect(await talliedRegistry.metrics()).not.toContain('_count');

    const config = { name: 'pharos_refused', help: 'test', registers: [] };
    expect(() => new TalliedHistogram({ ...config, enableExemplars: true })).toThrow(/exemplars/);
    expect(() => new TalliedHistogram({ ...config, buckets: [1, 0.5] })).toThrow(/increasing/);
    expect(() => new TalliedHistogram({ ...config, buckets: [1, 1] })).toThrow(/increasing/);
  });

  it("times with a child's startTimer, into its series or the one the end labels name", async () => {
    const { tallied } = pair();
    const child = tallied.labels('acme', '/a');
    const seconds = child.startTimer()() as unknown as number;
    child.startTimer()({ route: '/b' });
    const { values } = await tallied.get();
    const value = (metric: string, route: string) =>
      values.find((v) => v.metricName === metric && v.labels.route === route)?.value;
    expect(seconds).toBeGreaterThan(0);
    expect(value('pharos_test_seconds_sum', '/a')).toBe(seconds);
    expect(value('pharos_test_seconds_count', '/a')).toBe(1);
    expect(value('pharos_test_seconds_count', '/b')).toBe(1);
  });

  it('runs the collect hook before listing the series', async () => {
    const registry = new Registry();
    new TalliedHistogram<Label>({
      name: 'pharos_test_seconds',
      help: 'test',
      labelNames: ['tenant', 'route'],
      buckets: BUCKETS,
      registers: [registry],
      collect() {
        this.labels('acme', '/a').observe(1);
      },
    });
    expect(await registry.metrics()).toContain(
      'pharos_test_seconds_count{tenant="acme",route="/a"} 1',
    );
  });

  it('holds a series in well under the heap of a prom-client one', () => {
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    // The web-vitals shape: five labels, 15 bounds, a series per app and route (strings that
    // exist anyway, so made before measuring).
    const labelNames = ['tenant', 'app', 'environment', 'route', 'rating'] as const;
    const buckets = [0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 10, 15];
    const labelSets = Array.from({ length: 20_000 }, (_, i) => [
      `tenant-${i % 20}`,
      `tenant-${i % 20}-app-${i}`,
      'production',
      `/products/:id/${i % 7}`,
      'good',
    ]);
    const used = () => {
      collectGarbage();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers; // the tallied counts are in ArrayBuffers, off the heap
    };
    const perSeries = (Type: typeof Histogram, sets: string[][]) => {
      const before = used();
      const histogram = new Type({
        name: 'pharos_mem',
        help: 'test',
        labelNames,
        buckets,
        registers: [],
      });
      for (const values of sets) histogram.labels(...values).observe(1.2);
      const bytes = (used() - before) / sets.length;
      expect(histogram.labels(...sets[0]!)).toBeDefined(); // alive until measured
      return bytes;
    };
    // Once over a few series first, so that compiled code and one-time state are not counted.
    perSeries(Histogram, labelSets.slice(0, 300));
    perSeries(TalliedHistogram, labelSets.slice(0, 300));

    const plain = perSeries(Histogram, labelSets);
    const tallied = perSeries(TalliedHistogram, labelSets);
    const measured = `bytes per series: prom-client ${plain.toFixed(0)}, tallied ${tallied.toFixed(0)}`;
    expect(tallied, measured).toBeLessThan(BOUND_PER_SERIES);
    // The bound means something: prom-client's own histogram does not meet it.
    expect(plain, measured).toBeGreaterThan(BOUND_PER_SERIES);
  });
});
