import type { LabelValues } from 'prom-client';
import { nextTurn } from '../lib/next-turn.js';

/**
 * What shares TalliedHistogram and TalliedCounter: the series of a metric kept compactly (a few
 * numbers each in a shared Float64Array, one small object per label set), in the order prom-client
 * would list them, and written to text as prom-client's Registry writes them.
 */

/** What prom-client's Registry formats a metric from (`getMetricsAsString` in its registry.js). */
export interface PromStringSource {
  getForPromString(): Promise<object>;
}

/** A metric that writes its tallied series' lines itself, for `metricsChunks`. */
export interface TextExposition {
  /**
   * The text `registry.metrics()` writes for this metric, in pieces: `format` (the registry's
   * formatter) writes the header and prom-client's own series, then the tallied lines follow.
   */
  expositionChunks(format: (metric: PromStringSource) => Promise<string>): AsyncGenerator<string>;
}

/** Joins label values into a series' key: a value containing it is left to prom-client. */
export const SEPARATOR = '\u0000';

/**
 * Series written to text between turns of the event loop: with the web vitals' 15 buckets,
 * ~3,600 lines, ~0.5 MiB, a few milliseconds.
 */
const SERIES_PER_SLICE = 200;

/** The largest chunk of counts, in series: thousands of series share a few typed arrays. */
const MAX_SERIES_PER_CHUNK = 256;

/**
 * One label set, for as long as the metric lives (what `labels(...values)` gives).
 *
 * While the series is exported its numbers are `stride` slots from `offset` in `slots`, a chunk
 * shared with other series. `slots` is undefined until the first observation or increment, and
 * again after a `reset()` or `remove()`: prom-client only exports what was recorded since.
 */
export class TalliedSeries<T extends string> {
  slots: Float64Array | undefined = undefined;
  offset = 0;
  /** The labels to export when an object gave them: prom-client keeps that object's key order. */
  labels: LabelValues<T> | undefined = undefined;

  constructor(
    /** The label values in `labelNames` order, joined by SEPARATOR (none of them contains it). */
    readonly key: string,
  ) {}
}

/** The tallied series of one metric, in the order prom-client would list them. */
export abstract class SeriesStore<T extends string, S extends TalliedSeries<T>> {
  /** By joined label values. Its order is the order of export: live series move to the end. */
  readonly series = new Map<string, S>();
  private chunk = new Float64Array(0);
  private chunkUsed = 0;
  /** Slots of removed series, to be reused. */
  private readonly freed: { slots: Float64Array; offset: number }[] = [];

  constructor(
    readonly labelNames: readonly T[],
    /** Slots per series. */
    readonly stride: number,
    /** What a series' slots hold before its first record. */
    private readonly empty: number,
  ) {}

  /** A new series of the metric's own kind. */
  protected abstract create(key: string): S;

  get(key: string): S {
    let series = this.series.get(key);
    if (series === undefined) {
      series = this.create(key);
      this.series.set(key, series);
    }
    return series;
  }

  /**
   * The series to record into, exported from now on: `series` itself, or, when a caller still
   * holds a child whose series was removed, the one now under its label values. `labels` is the
   * object the values came in, if any (prom-client exports the first one's key order).
   */
  live(series: S, labels: LabelValues<T> | undefined): S {
    if (series.slots !== undefined) return series;
    const current = this.series.get(series.key) ?? series;
    if (current.slots === undefined) {
      // prom-client creates a series at its first record: it is listed after those before.
      this.series.delete(current.key);
      this.series.set(current.key, current);
      this.allocate(current);
      current.labels = labels && { ...labels };
    }
    return current;
  }

  remove(key: string): void {
    const series = this.series.get(key);
    if (series === undefined) return;
    this.series.delete(key);
    if (series.slots !== undefined) this.freed.push({ slots: series.slots, offset: series.offset });
    // A child still held records into a new series (see `live`), as prom-client's would.
    series.slots = undefined;
  }

  /** Nothing is exported until recorded again; the children stay valid (and the same). */
  reset(): void {
    for (const series of this.series.values()) series.slots = undefined;
    this.chunk = new Float64Array(0);
    this.chunkUsed = 0;
    this.freed.length = 0;
  }

  labelsOf(series: S): LabelValues<T> {
    if (series.labels !== undefined) return series.labels;
    // Made when read, rather than kept for each series.
    const values = series.key.split(SEPARATOR);
    const labels: LabelValues<T> = {};
    this.labelNames.forEach((name, i) => (labels[name] = values[i]));
    return labels;
  }

  /** The key of `remove`'s arguments (label values, or a labels object), as `keyOf` says. */
  keyOfArgs(args: readonly unknown[]): string | undefined {
    const first = args[0];
    return typeof first === 'object' && first !== null
      ? this.keyOf(first)
      : this.keyOfValues(args);
  }

  /** The key of `labels` when it gives each label (and nothing else) a value we tally. */
  keyOf(labels: LabelValues<T>): string | undefined {
    const names = this.labelNames;
    if (Object.keys(labels).length !== names.length) return undefined;
    return this.keyOfValues(names.map((name) => labels[name]));
  }

  /**
   * The key of label values in `labelNames` order, or undefined for what prom-client keeps: a
   * wrong number of values (it throws), none (a label-less metric), or a value that is missing,
   * null (both hash apart in prom-client) or contains the separator.
   */
  keyOfValues(values: readonly unknown[]): string | undefined {
    if (values.length !== this.labelNames.length || values.length === 0) return undefined;
    for (const value of values) {
      if (typeof value === 'string' ? value.includes(SEPARATOR) : typeof value !== 'number') {
        return undefined;
      }
    }
    return values.join(SEPARATOR);
  }

  /**
   * The live series' lines as text, SERIES_PER_SLICE series to a piece: `write` appends a
   * series' lines, given its labels formatted. The Map's iterator visits series added between
   * slices and skips removed ones; each series' lines are read at once, so they agree.
   */
  protected *slices(
    write: (series: S, slots: Float64Array, labels: string, lines: string[]) => void,
  ): Generator<string> {
    let lines: string[] = [];
    let written = 0;
    for (const series of this.series.values()) {
      const { slots } = series;
      if (slots === undefined) continue;
      write(series, slots, formatLabels(this.labelsOf(series)), lines);
      if (++written % SERIES_PER_SLICE === 0) {
        yield lines.join('\n');
        lines = [];
      }
    }
    if (lines.length > 0) yield lines.join('\n');
  }

  private allocate(series: S): void {
    const { stride } = this;
    const reused = this.freed.pop();
    if (reused !== undefined) {
      series.slots = reused.slots;
      series.offset = reused.offset;
    } else {
      if (this.chunkUsed * stride === this.chunk.length) {
        // Chunks grow with the metric: a handful of series take a small one.
        const size = Math.min(MAX_SERIES_PER_CHUNK, Math.max(4, (2 * this.chunk.length) / stride));
        this.chunk = new Float64Array(size * stride);
        this.chunkUsed = 0;
      }
      series.slots = this.chunk;
      series.offset = this.chunkUsed++ * stride;
    }
    series.slots.fill(this.empty, series.offset, series.offset + stride);
  }
}

/**
 * `format`'s text for prom-client's own series (`own`, their listing), then `slices`, each after
 * a newline and followed by a turn of the event loop.
 */
export async function* expositionOf(
  own: object,
  format: (metric: PromStringSource) => Promise<string>,
  slices: Iterable<string>,
): AsyncGenerator<string> {
  yield await format({ getForPromString: () => Promise.resolve(own) });
  for (const slice of slices) {
    yield `\n${slice}`;
    await nextTurn();
  }
}

/** `a="x",b="y"`: prom-client's label formatting (`formatLabels` in its registry.js). */
export function formatLabels(labels: LabelValues<string>): string {
  let text = '';
  for (const name in labels) {
    const value = labels[name];
    const escaped =
      typeof value === 'string'
        ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
        : value;
    text += `${text === '' ? '' : ','}${name}="${escaped}"`;
  }
  return text;
}

/** prom-client's `getValueAsString`: a sum can overflow to infinity, a counter can hold NaN. */
export function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}
