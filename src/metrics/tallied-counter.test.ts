import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { metricsText } from './exposition.js';
import { ROUTES, TENANTS, errorOf, expectSameText, random } from './testing/compare.js';
import { TalliedCounter } from './tallied-counter.js';

type Label = 'tenant' | 'route';
/**
 * Bytes of heap and ArrayBuffers per series of four labels, its child held (as the metrics sink
 * holds them): measured ~200 for TalliedCounter and ~350 for prom-client's Counter (~180 and
 * ~240 with no child held; Node 20, no pointer compression).
 */
const BOUND_PER_SERIES = 280;

function pair() {
  const plainRegistry = new Registry();
  const talliedRegistry = new Registry();
  const config = {
    name: 'pharos_test_total',
    help: 'test',
    labelNames: ['tenant', 'route'] as const,
  };
  return {
    plain: new Counter<Label>({ ...config, registers: [plainRegistry] }),
    tallied: new TalliedCounter<Label>({ ...config, registers: [talliedRegistry] }),
    plainRegistry,
    talliedRegistry,
  };
}

/**
 * Increments: none given (1), null (1 too), zeros of both signs (a series at 0; prom-client keeps
 * -0 as given), fractions whose sums round, tiny ones.
 */
const VALUES = [undefined, null, 0, -0, 1, 0.1, 0.2, 2.5, Number.MIN_VALUE] as unknown as (
  number | undefined
)[];
/** Only for one label set (the others keep small totals): past 2^53, and overflowing to +Inf. */
const HUGE = [2 ** 53, 1e300, 1e308];

/**
 * `steps` random calls of every form that names all labels: positional children (also with the
 * number, outside the typings), `inc` with objects in either key order, children made without
 * an increment, children held from the start or taken along the way (across removes and
 * resets), and, with `removals`, `remove` in both forms and the odd `reset`.
 */
function play(counter: Counter<Label>, seed: number, steps: number, removals = false) {
  const next = random(seed);
  const pick = <V>(list: readonly V[]): V => list[Math.floor(next() * list.length)]!;
  const held = counter.labels('acme', '/a');
  const heldByObject = counter.labels({ route: '/b/:id', tenant: 'globex' });
  const taken: Counter.Internal[] = [];
  for (let step = 0; step < steps; step++) {
    const tenant = pick(TENANTS);
    const route = pick(ROUTES);
    const small = pick(VALUES);
    const value = tenant === 'globex' && route === '' ? pick(HUGE) : small;
    switch (Math.floor(next() * (removals ? 13 : 10))) {
      case 0:
      case 1:
        counter.labels(String(tenant), route).inc(value);
        break;
      case 2:
        counter.inc({ tenant, route }, value);
        break;
      case 3:
        counter.inc({ route, tenant }, value);
        break;
      case 4:
        counter.labels({ route, tenant }).inc(value);
        break;
      case 5:
        held.inc(small);
        break;
      case 6:
        heldByObject.inc(small);
        break;
      case 7:
        (counter.labels as (...values: unknown[]) => Counter.Internal)(tenant, route).inc(value);
        break;
      case 8:
        // A child, incremented (if ever) later: it exports nothing until then.
        taken.push(counter.labels(String(tenant), route));
        break;
      case 9:
        if (taken.length > 0) pick(taken).inc(small);
        break;
      case 10:
        counter.remove(String(tenant), route);
        break;
      case 11:
        counter.remove({ route, tenant });
        break;
      default:
        if (next() < 0.3) counter.reset();
        else counter.remove({ tenant, route });
    }
  }
}

describe('TalliedCounter', () => {
  it('exposes exactly the text of a prom-client Counter given the same calls, in the same order', async () => {
    const { plain, tallied, plainRegistry, talliedRegistry } = pair();
    for (const counter of [plain, tallied]) play(counter, 1, 3000);
    await expectSameText(talliedRegistry, plainRegistry);
    const text = await metricsText(talliedRegistry);
    expect(text).toMatch(/^pharos_test_total\{tenant="acme",route="\/a"\} \d+/m);
    // An object's key order, when an object created the series.
    expect(text).toMatch(/^pharos_test_total\{route="[^"]*",tenant="[^"]*"\} /m);
    expect(text).toMatch(/^pharos_test_total\{tenant="7",route="[^"]*"\} /m);
    expect(text).toContain('tenant="a\\"b\\\\c\\nd"');
    // A total past the largest double.
    expect(text).toMatch(/^pharos_test_total\{[^}]*"globex"[^}]*\} \+Inf$/m);
    expect(text).toMatch(/ \d+\.\d+$/m); // and fractions

    // A read changes nothing: more calls after it, and the two still agree.
    for (const counter of [plain, tallied]) play(counter, 2, 1000);
    await expectSameText(talliedRegistry, plainRegistry);
  });

  it('agrees through removes and resets, and with children held across them', async () => {
    for (const seed of [3, 4, 5]) {
      const { plain, tallied, plainRegistry, talliedRegistry } = pair();
      for (const counter of [plain, tallied]) play(counter, seed, 2000, true);
      await expectSameText(talliedRegistry, plainRegistry);
    }
  });

  it('lists a series at its first increment, even of 0, not when its child is made', async () => {
    const { plain, tallied, plainRegistry, talliedRegistry } = pair();
    for (const counter of [plain, tallied]) {
      const early = counter.labels('acme', '/a');
      counter.labels('globex', '/a').inc(0);
      early.inc(2);
      counter.labels('acme', '/b/:id');
      counter.inc({ route: '/c', tenant: 'acme' }, -0);
    }
    await expectSameText(talliedRegistry, plainRegistry);
    expect((await talliedRegistry.metrics()).split('\n').slice(2)).toEqual([
      'pharos_test_total{tenant="globex",route="/a"} 0',
      'pharos_test_total{tenant="acme",route="/a"} 2',
      'pharos_test_total{route="/c",tenant="acme"} 0',
      '',
    ]);
    expect(Object.is((await tallied.get()).values[2]!.value, -0)).toBe(true);
  });

  it('gives getMetricsAsJSON (the cluster aggregator input) and the aggregation of workers as prom-client', async () => {
    const workers = [pair(), pair()];
    workers.forEach((worker, i) => {
      for (const counter of [worker.plain, worker.tallied]) play(counter, 10 + i, 1500, i === 1);
    });
    const plainJson = await Promise.all(workers.map((w) => w.plainRegistry.getMetricsAsJSON()));
    const talliedJson = await Promise.all(workers.map((w) => w.talliedRegistry.getMetricsAsJSON()));
    expect(talliedJson).toStrictEqual(plainJson);
    // The number label value is kept as given, as prom-client keeps it.
    expect(JSON.stringify(talliedJson)).toContain('"tenant":7');

    const plainCluster = AggregatorRegistry.aggregate(plainJson);
    const talliedCluster = AggregatorRegistry.aggregate(talliedJson);
    expect(await talliedCluster.metrics()).toBe(await plainCluster.metrics());
    expect(await talliedCluster.getMetricsAsJSON()).toStrictEqual(
      await plainCluster.getMetricsAsJSON(),
    );
  });

  it('leaves what does not name every label to prom-client (listed first)', async () => {
    const { plain, tallied, plainRegistry, talliedRegistry } = pair();
    for (const counter of [plain, tallied]) {
      counter.labels('acme', '/a').inc(3);
      counter.inc({ tenant: 'acme' }, 2);
      counter.labels({ route: '/b' }).inc();
      counter.inc(4);
      counter.labels('acme', '/a').inc(11);
      counter.labels('x\u0000y', '/a').inc(); // the separator of the tallied keys
    }
    const lines = async (text: Promise<string>) => (await text).split('\n').sort();
    const expected = await lines(plainRegistry.metrics());
    expect(await lines(talliedRegistry.metrics())).toEqual(expected);
    expect(await lines(metricsText(talliedRegistry))).toEqual(expected);
    const text = await talliedRegistry.metrics();
    expect(text).toContain('pharos_test_total{tenant="acme"} 2');
    expect(text).toContain('pharos_test_total 4');
    expect(text).toContain('pharos_test_total{tenant="acme",route="/a"} 14');
  });

  it('works without labels, all in prom-client (exported at 0 from the start)', async () => {
    const plainRegistry = new Registry();
    const talliedRegistry = new Registry();
    const config = { name: 'pharos_test_total', help: 'test' };
    const plain = new Counter({ ...config, registers: [plainRegistry] });
    const tallied = new TalliedCounter({ ...config, registers: [talliedRegistry] });
    await expectSameText(talliedRegistry, plainRegistry);
    expect(await talliedRegistry.metrics()).toContain('pharos_test_total 0');
    for (const counter of [plain, tallied]) {
      counter.inc(0.5);
      counter.labels().inc(3);
      counter.inc();
    }
    await expectSameText(talliedRegistry, plainRegistry);
    expect(await talliedRegistry.metrics()).toContain('pharos_test_total 4.5');
    for (const counter of [plain, tallied]) counter.reset();
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
    expect(errorOf(() => tallied.labels())).toEqual(errorOf(() => plain.labels()));
    expect(errorOf(() => tallied.remove('acme'))).toEqual(errorOf(() => plain.remove('acme')));

    for (const unknownLabel of [
      { tenant: 'acme', path: '/a' },
      { tenant: 'acme', route: '/a', path: '/a' },
    ] as never[]) {
      // An object is checked at the increment, not when its child is made.
      expect(errorOf(() => tallied.labels(unknownLabel))).toBeUndefined();
      const expected = errorOf(() => plain.labels(unknownLabel).inc());
      expect(expected?.message).toMatch(/not included in initial labelset/);
      expect(errorOf(() => tallied.labels(unknownLabel).inc())).toEqual(expected);
      // The labels are checked before the value.
      expect(errorOf(() => tallied.inc(unknownLabel, -1))).toEqual(
        errorOf(() => plain.inc(unknownLabel, -1)),
      );
      expect(errorOf(() => tallied.remove(unknownLabel))).toEqual(
        errorOf(() => plain.remove(unknownLabel)),
      );
    }

    for (const value of [-1, -Number.MIN_VALUE, -Infinity, Infinity, '1', '-1', true, {}, []]) {
      const invalid = value as number;
      const expected = errorOf(() => plain.labels('acme', '/a').inc(invalid));
      expect(expected).toMatchObject({ message: /not a valid number|not possible to decrease/ });
      expect(errorOf(() => tallied.labels('acme', '/a').inc(invalid))).toEqual(expected);
      expect(errorOf(() => tallied.inc({ tenant: 'acme', route: '/b' }, invalid))).toEqual(
        errorOf(() => plain.inc({ tenant: 'acme', route: '/b' }, invalid)),
      );
      expect(errorOf(() => tallied.labels({ route: '/c', tenant: 'acme' }).inc(invalid))).toEqual(
        errorOf(() => plain.labels({ route: '/c', tenant: 'acme' }).inc(invalid)),
      );
    }
    expect(errorOf(() => plain.labels('acme', '/a').inc(-1))).toEqual({
      name: 'Error',
      message: 'It is not possible to decrease a counter',
    });
    expect(errorOf(() => plain.labels('acme', '/a').inc(Infinity))).toEqual({
      name: 'TypeError',
      message: 'Value is not a valid number: Infinity',
    });
    // Nothing was created by the failed calls.
    await expectSameText(talliedRegistry, plainRegistry);
    expect(await talliedRegistry.metrics()).not.toContain('pharos_test_total{');

    // NaN is falsy: prom-client lets it through, and the series holds it from then on.
    for (const counter of [plain, tallied]) {
      counter.labels('acme', '/a').inc(Number.NaN);
      counter.labels('acme', '/a').inc(1);
    }
    await expectSameText(talliedRegistry, plainRegistry);
    expect(await talliedRegistry.metrics()).toContain(
      'pharos_test_total{tenant="acme",route="/a"} Nan',
    );

    expect(
      () => new TalliedCounter({ name: 'pharos_refused', help: 'test', enableExemplars: true }),
    ).toThrow(/exemplars/);
  });

  it('keeps totals across reads: a scrape changes nothing', async () => {
    const { tallied, talliedRegistry } = pair();
    const child = tallied.labels('acme', '/a');
    child.inc(2);
    await talliedRegistry.metrics();
    await metricsText(talliedRegistry);
    child.inc(5);
    expect(await talliedRegistry.metrics()).toContain(
      'pharos_test_total{tenant="acme",route="/a"} 7',
    );
    expect((await tallied.get()).values).toStrictEqual([
      { value: 7, labels: { tenant: 'acme', route: '/a' } },
    ]);
  });

  it('runs the collect hook before listing the series, on every read', async () => {
    const registry = new Registry();
    let reads = 0;
    new TalliedCounter<Label>({
      name: 'pharos_test_total',
      help: 'test',
      labelNames: ['tenant', 'route'],
      registers: [registry],
      collect() {
        reads++;
        this.labels('acme', '/a').inc(1);
      },
    });
    expect(await registry.metrics()).toContain('pharos_test_total{tenant="acme",route="/a"} 1');
    expect(await metricsText(registry)).toContain('pharos_test_total{tenant="acme",route="/a"} 2');
    const [json] = await registry.getMetricsAsJSON();
    expect(json?.values).toStrictEqual([{ value: 3, labels: { tenant: 'acme', route: '/a' } }]);
    expect(reads).toBe(3);
  });

  it('holds a series in well under the heap of a prom-client one', () => {
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    // The shape of the RUM counters: four labels, a series per app and event name (strings that
    // exist anyway, so made before measuring).
    const labelNames = ['tenant', 'app', 'environment', 'name'] as const;
    const labelSets = Array.from({ length: 20_000 }, (_, i) => [
      `tenant-${i % 20}`,
      `tenant-${i % 20}-app-${i}`,
      'production',
      `faro.event.${i % 7}`,
    ]);
    const used = () => {
      collectGarbage();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers; // the tallied totals are in ArrayBuffers, off the heap
    };
    /** With `held`, the children are kept, as the metrics sink keeps them (series-cap.ts). */
    const perSeries = (Type: typeof Counter, sets: string[][], held: boolean) => {
      const before = used();
      const counter = new Type({
        name: 'pharos_mem_total',
        help: 'test',
        labelNames,
        registers: [],
      });
      const children: Counter.Internal[] = [];
      for (const values of sets) {
        const child = counter.labels(...values);
        child.inc();
        if (held) children.push(child);
      }
      const bytes = (used() - before) / sets.length;
      expect(counter.labels(...sets[0]!)).toBeDefined(); // alive until measured
      expect(children.length).toBe(held ? sets.length : 0);
      return bytes;
    };
    // Once over a few series first, so that compiled code and one-time state are not counted.
    for (const Type of [Counter, TalliedCounter]) perSeries(Type, labelSets.slice(0, 300), true);

    const plain = perSeries(Counter, labelSets, false);
    const tallied = perSeries(TalliedCounter, labelSets, false);
    const plainHeld = perSeries(Counter, labelSets, true);
    const talliedHeld = perSeries(TalliedCounter, labelSets, true);
    const measured =
      `bytes per series: prom-client ${plain.toFixed(0)}, tallied ${tallied.toFixed(0)}; ` +
      `children held: prom-client ${plainHeld.toFixed(0)}, tallied ${talliedHeld.toFixed(0)}`;
    expect(tallied, measured).toBeLessThan(0.85 * plain);
    expect(talliedHeld, measured).toBeLessThan(BOUND_PER_SERIES);
    // The bound means something: prom-client's own counter does not meet it.
    expect(plainHeld, measured).toBeGreaterThan(BOUND_PER_SERIES);
  });
});
