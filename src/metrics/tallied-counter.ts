import { Counter, type CounterConfiguration, type LabelValues } from 'prom-client';

/** What `labels(...)` gives: the same object for the same label values, every time. */
interface Tally {
  readonly values: readonly string[];
  count: number;
  /** The series exists in prom-client (it may have been created at 0). */
  exported: boolean;
  inc(value?: number): void;
}

/**
 * A prom-client Counter for the hot path: increments are summed in a plain number per label set
 * and handed to prom-client when the counter is read (a scrape, `get()`, the cluster's
 * aggregation), instead of prom-client hashing the label values on every `inc`.
 *
 * The ingest path counts several things per request (the request, its items by kind, its
 * idempotency outcome, redactions, fingerprints); through prom-client each was a label object, a
 * hash string and a lookup, ~1 µs apiece. Here it is one Map lookup of the joined values. What
 * is exported is the same: every label set that was incremented, with its total, at the moment of
 * the read.
 *
 * Only `labels(...values).inc(n)` is tallied; `inc({ labels })` and label-less counters go to
 * prom-client directly, as before.
 */
export class TalliedCounter<T extends string> extends Counter<T> {
  private readonly tallies = new Map<string, Tally>();
  private readonly labelCount: number;

  constructor(config: CounterConfiguration<T>) {
    super({
      ...config,
      collect(this: Counter<T>) {
        (this as TalliedCounter<T>).flushTallies();
      },
    });
    this.labelCount = config.labelNames?.length ?? 0;
  }

  override labels(...values: string[]): Counter.Internal;
  override labels(labels: LabelValues<T>): Counter.Internal;
  override labels(...args: unknown[]): Counter.Internal {
    if (args.length === 1 && typeof args[0] === 'object' && args[0] !== null) {
      return super.labels(args[0] as LabelValues<T>);
    }
    const values = args.map(String);
    const key = values.join('\u0000');
    let tally = this.tallies.get(key);
    if (tally === undefined) {
      // A wrong number of values must fail here, as prom-client's would, not at the next scrape.
      if (values.length !== this.labelCount) return super.labels(...values);
      tally = {
        values,
        count: 0,
        exported: false,
        inc(value = 1) {
          // prom-client's own checks, so a bad increment still fails where it is made.
          if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
          if (value < 0) throw new Error('It is not possible to decrease a counter');
          this.count += value;
        },
      };
      this.tallies.set(key, tally);
    }
    return tally;
  }

  /** Hands every pending count to prom-client. */
  private flushTallies(): void {
    for (const tally of this.tallies.values()) {
      if (tally.count === 0 && tally.exported) continue;
      super.labels(...tally.values).inc(tally.count);
      tally.count = 0;
      tally.exported = true;
    }
  }
}
