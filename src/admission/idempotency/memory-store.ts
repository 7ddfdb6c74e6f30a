import type { ClaimState, IdempotencyStore } from './store.js';

interface Claim {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Keys of this replica, bounded by `maxKeys`: least recently used go first when it is full,
 * expired ones when they are met. A JavaScript `Map` iterates in insertion order, so
 * re-inserting a key on use keeps the least recently used one first.
 *
 * Accepted keys are most of it (every request of the Faro SDK carries a fresh key, so a busy
 * replica keeps `maxKeys` of them), and each is kept as small as a Map entry can be: the key and
 * its expiry as a small integer (milliseconds since the store was made), no object per key. As
 * `{ value, expiresAt }` objects, with a claim and a confirmation each leaving a hole in the map,
 * a key cost ~200 bytes and the default 200,000 keys ~40 MiB of heap; this way ~85 bytes
 * (docs/performance.md, finding 23). Claims in progress, few and short-lived, keep their token
 * in a map of their own.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  /** Accepted keys → expiry, in milliseconds after `epoch`. */
  private readonly accepted = new Map<string, number>();
  private readonly claims = new Map<string, Claim>();
  private readonly maxKeys: number;
  private readonly clock: () => number;
  private readonly epoch: number;

  constructor(options: { maxKeys: number; clock?: () => number }) {
    this.maxKeys = options.maxKeys;
    this.clock = options.clock ?? Date.now;
    this.epoch = this.clock();
  }

  get size(): number {
    return this.accepted.size + this.claims.size;
  }

  claim(key: string, token: string, leaseMs: number): Promise<ClaimState> {
    const now = this.clock();
    const claim = this.claims.get(key);
    if (claim !== undefined) {
      if (claim.expiresAt > now) return Promise.resolve('in-progress');
      this.claims.delete(key);
    }
    const expiry = this.accepted.get(key);
    if (expiry !== undefined) {
      this.accepted.delete(key);
      if (expiry > now - this.epoch) {
        this.accepted.set(key, expiry);
        return Promise.resolve('done');
      }
    }
    this.claims.set(key, { token, expiresAt: now + leaseMs });
    this.evictPastBound();
    return Promise.resolve('claimed');
  }

  release(key: string, token: string): Promise<void> {
    const claim = this.claims.get(key);
    if (claim?.token === token && claim.expiresAt > this.clock()) this.claims.delete(key);
    return Promise.resolve();
  }

  confirm(key: string, windowMs: number): Promise<void> {
    this.claims.delete(key);
    this.accepted.delete(key);
    this.accepted.set(flatCopy(key), this.clock() + windowMs - this.epoch);
    this.evictPastBound();
    return Promise.resolve();
  }

  /** Forgets the least recently used accepted keys, then the oldest claims, past `maxKeys`. */
  private evictPastBound(): void {
    while (this.size > this.maxKeys) {
      const oldest = this.accepted.size > 0 ? this.accepted : this.claims;
      const first = oldest.keys().next();
      if (first.done === true) break;
      oldest.delete(first.value);
    }
  }
}

/**
 * A flat copy of `text`. The key arrives as a concatenation (`<appId>:<Idempotency-Key>`), which
 * V8 keeps as a rope: flattened when the map hashes it, but behind a rope header for as long as it
 * is kept (~24 bytes a key, ~5 MiB at 200,000 keys) for ~0.3 µs once per accepted request.
 */
function flatCopy(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}
