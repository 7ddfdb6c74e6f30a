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
