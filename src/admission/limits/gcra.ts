import { CHARGED, type BucketSpec, type ChargeOutcome, type ChargeSet } from './types.js';

/*
 * GCRA (generic cell rate algorithm), the token bucket in another form. A bucket stores one
 * number, its TAT ("theoretical arrival time", ms): the time at which it would be full again.
 * With the emission interval T = 1000 / perSecond and the tolerance τ = burst × T, a charge of
 * `cost` tokens at `now` is allowed when
 *
 *     newTat = max(TAT, now) + cost × T   and   newTat − now ≤ τ
 *
 * and then TAT := newTat. Otherwise nothing changes and the charge fits after
 * `newTat − now − τ` ms. An absent key is a full bucket, so a key may expire at its TAT: idle
 * tenants cost no memory in Redis nor here. One number per key also makes Redis scripts small:
 * read, compare, write.
 *
 * A charge bigger than the whole burst (a 600-item batch on a 500-item burst) would never fit.
 * Such a charge is allowed when the bucket is full, and leaves it in debt: τ = max(burst, cost) × T.
 * The long-run rate still holds (the debt is paid before anything else passes), and the SDK's
 * retry is not refused forever.
 *
 * The same arithmetic runs in Lua (redis-script.ts); keep the two in step.
 */

/** Below this, a wait is rounding noise (ms), so a retry at exactly Retry-After is allowed. */
export const WAIT_EPSILON_MS = 1e-6;

/**
 * The charge set of `specs` at `costs`, for a replica enforcing `share` of every limit (1 when the
 * buckets are shared through Redis, 1/replicas when each replica counts alone).
 */
export function chargeSet(
  specs: readonly BucketSpec[],
  costs: readonly number[],
  share: number,
): ChargeSet {
  const increments: number[] = [];
  const tolerances: number[] = [];
  const keys: string[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const cost = costs[i]!;
    const interval = 1000 / (spec.rate.perSecond * share);
    keys.push(spec.key);
    increments.push(cost * interval);
    tolerances.push(Math.max(spec.rate.burst * share, cost) * interval);
  }
  return { specs, keys, costs, increments, tolerances };
}

/** What a charge set takes from its rates: the same for every app with the same limits. */
interface ChargeShape {
  readonly costs: readonly number[];
  readonly increments: readonly number[];
  readonly tolerances: readonly number[];
}

/**
 * Charge sets whose costs, increments and tolerances are shared by every set of the same rates,
 * costs and share: with 10,000 apps of equal limits, one copy of those arrays instead of 10,000.
 * Only a set's keys (its buckets) are its own, and a list of specs that several plans share (a
 * tenant's apps without limits of their own) gets one set for all of them.
 */
export class ChargeShapes {
  private readonly shapes = new Map<string, ChargeShape>();
  private readonly sets = new WeakMap<readonly BucketSpec[], ChargeSet>();

  constructor(
    /** Distinct shapes kept; past it they are all forgotten (rates are few, unless churned). */
    private readonly maxShapes = 4096,
  ) {}

  /**
   * The set of `specs`, the first `charged` of them at cost 1 and the `checked` after them at
   * cost 0 (refused only while in debt past their burst). `shared`: `specs` is a list other
   * plans hold too, so its set is remembered for them (weakly, with the list).
   */
  chargeSet(
    specs: readonly BucketSpec[],
    charged: number,
    checked: number,
    share: number,
    shared: boolean,
  ): ChargeSet {
    const shape = this.shapeOf(specs, charged, checked, share);
    const known = shared ? this.sets.get(specs) : undefined;
    // One shape object per id: the same increments mean the same costs, rates and share.
    if (known !== undefined && known.increments === shape.increments) return known;
    const set: ChargeSet = {
      specs,
      keys: specs.map((spec) => spec.key),
      costs: shape.costs,
      increments: shape.increments,
      tolerances: shape.tolerances,
    };
    if (shared) this.sets.set(specs, set);
    return set;
  }

  /** Shapes known (tests). */
  size(): number {
    return this.shapes.size;
  }

  private shapeOf(
    specs: readonly BucketSpec[],
    charged: number,
    checked: number,
    share: number,
  ): ChargeShape {
    if (charged + checked !== specs.length)
      throw new Error(`${specs.length} specs, ${charged} charged and ${checked} checked`);
    const parts = [String(share)];
    for (let i = 0; i < specs.length; i++) {
      const { perSecond, burst } = specs[i]!.rate;
      parts.push(`${i < charged ? 1 : 0}:${perSecond}:${burst}`);
    }
    const id = parts.join('|');
    let shape = this.shapes.get(id);
    if (shape === undefined) {
      const costs = specs.map((_, i) => (i < charged ? 1 : 0));
      const { increments, tolerances } = chargeSet(specs, costs, share);
      shape = {
        costs: Object.freeze(costs),
        increments: Object.freeze(increments),
        tolerances: Object.freeze(tolerances),
      };
      if (this.shapes.size >= this.maxShapes) this.shapes.clear();
      this.shapes.set(id, shape);
    }
    return shape;
  }
}

/** Whole seconds to put in `Retry-After`: the wait rounded up, at least 1. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/** Buckets in memory: a map of TATs. Synchronous, so the memory path never awaits. */
export class MemoryBuckets {
  private readonly tats = new Map<string, number>();
  private nextSweepAt = 0;

  constructor(
    private readonly clock: () => number,
    /** How often full buckets (TAT in the past) are forgotten; keys are known tenants and apps only. */
    private readonly sweepEveryMs = 60_000,
  ) {}

  charge(set: ChargeSet): ChargeOutcome {
    const now = this.clock();
    if (now >= this.nextSweepAt) this.sweep(now);
    const { keys, increments, tolerances } = set;
    let worst = -1;
    let worstWait = WAIT_EPSILON_MS;
    for (let i = 0; i < keys.length; i++) {
      const tat = Math.max(this.tats.get(keys[i]!) ?? now, now);
      const wait = tat + increments[i]! - now - tolerances[i]!;
      if (wait > worstWait) {
        worst = i;
        worstWait = wait;
      }
    }
    if (worst >= 0) return { allowed: false, index: worst, waitMs: worstWait };
    // All or nothing: nothing was written above, everything is written here.
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      this.tats.set(key, Math.max(this.tats.get(key) ?? now, now) + increments[i]!);
    }
    return CHARGED;
  }

  /** Buckets currently remembered (tests, and a gauge if ever needed). */
  size(): number {
    return this.tats.size;
  }

  private sweep(now: number): void {
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
    this.nextSweepAt = now + this.sweepEveryMs;
  }
}
