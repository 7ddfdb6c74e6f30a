import { format } from 'node:util';
import { Counter, type CounterConfiguration, type LabelValues } from 'prom-client';
import {
  SEPARATOR,
  SeriesStore,
  TalliedSeries,
  expositionOf,
  valueText,
  type PromStringSource,
  type TextExposition,
} from './tallied-series.js';

/** What prom-client's `Counter.get()` lists (its typings do not export the type). */
type Listing<T extends string> = Awaited<ReturnType<Counter<T>['get']>>;
type Sample<T extends string> = Listing<T>['values'][number];

/**
 * prom-client's checks of an increment (`incWithoutExemplar` in lib/counter.js, 15.x), with its
 * messages, so a bad increment fails where it is made; null and undefined count 1. As there, NaN
 * passes (it is falsy) and the series then holds NaN, written `Nan`. prom-client would also
 * store `false` or `''` as they are (a `''` then turns the total into a string): refused here.
 */
function increment(value: unknown): number {
  if (value && !Number.isFinite(value)) {
    throw new TypeError(`Value is not a valid number: ${format(value)}`);
  }
  if ((value as number) < 0) throw new Error('It is not possible to decrease a counter');
  if (value === null || value === undefined) return 1;
  if (typeof value !== 'number')
    throw new TypeError(`Value is not a valid number: ${format(value)}`);
  return value;
}

/**
 * What `labels(...values)` gives: one object per label set, for as long as the counter lives
 * (see TalliedSeries). Its one slot is the total.
 */
class Series<T extends string> extends TalliedSeries<T> implements Counter.Internal {
  constructor(
    readonly store: CounterStore<T>,
    key: string,
  ) {
    super(key);
  }

  inc(value?: number): void {
    const amount = increment(value);
    (this.slots === undefined ? this.store.live(this, undefined) : this).add(amount);
  }

  /** Adds a checked amount to the total: one addition, nothing allocated. */
  add(amount: number): void {
    this.slots![this.offset]! += amount;
  }
}

/** The tallied series of one counter, in the order prom-client would list them. */
class CounterStore<T extends string> extends SeriesStore<T, Series<T>> {
  constructor(labelNames: readonly T[]) {
    // A total starts at -0, the identity of addition: after the first increment it holds exactly
    // what prom-client stores (the increment itself; -0 stays -0, where 0 + -0 would be 0).
    super(labelNames, 1, -0);
  }

  protected create(key: string): Series<T> {
    return new Series(this, key);
  }

  /** Appends each live series as prom-client's `get()` lists it. */
  exportTo(values: Sample<T>[]): void {
    for (const series of this.series.values()) {
      const { slots } = series;
      if (slots !== undefined) {
        values.push({ value: slots[series.offset]!, labels: this.labelsOf(series) });
      }
    }
  }

  /**
   * The same lines as text, as prom-client's Registry formats them, without an object per line:
   * at 10,000 apps `pharos_events_total` alone has ~15,000 series, and formatting them through
   * prom-client took ~50 ms of event loop in one block.
   */
  textSlices(name: string): Generator<string> {
    return this.slices(({ offset }, slots, labels, lines) => {
      lines.push(`${name}{${labels}} ${valueText(slots[offset]!)}`);
    });
  }
}

/**
 * A prom-client Counter for the hot path: `labels(...values)` returns the same small child for the
 * same values (a Map lookup of the joined values), whose `inc` adds to a number in a shared
 * Float64Array, instead of prom-client hashing the label object on every increment and keeping a
 * labels object and a hash string per series. A scrape writes the series' lines directly
 * (`expositionChunks`, read by `metricsChunks`), a slice of series at a time.
 *
 * What is exported is what prom-client would export for the same calls, in the same order: a
 * series appears at its first `inc` (a child made by `labels()` alone exports nothing), even an
 * `inc(0)`, and leaves on `remove` and `reset`. Reads (a scrape, `get()`, the cluster's
 * aggregation) run the `collect` hook, list prom-client's own series, then these. Every call
 * naming each label (positional values, or an object) is tallied. prom-client keeps storing the
 * rest: label-less counters, and objects leaving labels out (listed first, not in the order of
 * their first increment as a plain prom-client Counter would). No exemplars.
 */
export class TalliedCounter<T extends string> extends Counter<T> implements TextExposition {
  private readonly store: CounterStore<T>;
  private readonly promInc: (labels: unknown, value?: unknown) => void;

  constructor(config: CounterConfiguration<T>) {
    super(withoutExemplars(config));
    this.store = new CounterStore(config.labelNames ?? []);
    // prom-client sets `inc` on each instance, where a method of ours would not be seen: take it
    // over, keeping prom-client's for what it stores itself.
    this.promInc = this.inc.bind(this) as (labels: unknown, value?: unknown) => void;
    this.inc = this.incAny;
  }

  override labels(...values: string[]): Counter.Internal;
  override labels(labels: LabelValues<T>): Counter.Internal;
  override labels(...args: unknown[]): Counter.Internal {
    // The count first: joined, fewer values than labels could spell another series' key. Values
    // other than strings go the slow way, so that the labels keep them as given (as prom-client's).
    if (args.length === this.store.labelNames.length && allStrings(args)) {
      const key = args.join(SEPARATOR);
      const series = this.store.series.get(key);
      if (series !== undefined) return series;
      if (this.store.keyOfValues(args) !== undefined) return this.store.get(key);
    }
    // prom-client's child, whose `inc(value)` is our `inc(labels, value)`: an object's labels are
    // checked at the increment, and a wrong number of values fails here, as there.
    return (super.labels as (...args: unknown[]) => Counter.Internal)(...args);
  }

  override remove(...values: string[]): void;
  override remove(labels: LabelValues<T>): void;
  override remove(...args: unknown[]): void {
    const key = this.store.keyOfArgs(args);
    if (key !== undefined) this.store.remove(key);
    else (super.remove as (...args: unknown[]) => void)(...args);
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor resets, before our fields exist.
    this.store?.reset();
  }

  /**
   * What prom-client's Registry formats a counter from (it has no `getForPromString`), and what
   * `getMetricsAsJSON()` and the cluster's aggregation read: after the `collect` hook,
   * prom-client's series, then the tallied ones.
   */
  override async get(): Promise<Listing<T>> {
    const list = await super.get();
    this.store.exportTo(list.values);
    return list;
  }

  /**
   * The text `registry.metrics()` writes for this counter, in pieces (see `metricsChunks`):
   * `format` (the registry's formatter) writes the header and prom-client's own series, then the
   * tallied lines come a slice of series at a time, with a turn of the event loop between slices.
   */
  async *expositionChunks(
    format: (metric: PromStringSource) => Promise<string>,
  ): AsyncGenerator<string> {
    const own = await super.get();
    yield* expositionOf(own, format, this.store.textSlices(own.name));
  }

  private readonly incAny = (labels?: unknown, value?: unknown): void => {
    if (typeof labels === 'object' && labels !== null) {
      const key = this.store.keyOf(labels);
      if (key !== undefined) {
        // Its labels are valid: prom-client would check the value next.
        const amount = increment(value);
        this.store.live(this.store.get(key), labels).add(amount);
        return;
      }
    }
    this.promInc(labels, value);
  };
}

function allStrings(values: readonly unknown[]): values is string[] {
  for (const value of values) if (typeof value !== 'string') return false;
  return true;
}

/** Refused before prom-client registers the counter: `inc` would take another form. */
function withoutExemplars<T extends string>(
  config: CounterConfiguration<T>,
): CounterConfiguration<T> {
  if (config.enableExemplars) throw new Error('TalliedCounter does not support exemplars');
  return config;
}
