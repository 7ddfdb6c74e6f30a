import { AcceptedKeys } from './accepted-keys.js';
import type { ClaimState, IdempotencyStore } from './store.js';

interface Claim {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Keys of this replica, bounded by `maxKeys`: least recently used go first when it is full,
 * expired ones when they are met. Accepted keys, nearly all of it (every request of the Faro SDK
 * carries a fresh key), are fingerprints in typed arrays (`AcceptedKeys`: ~22 bytes a key, off
 * the heap); claims in progress, few and short-lived, keep their key and token in a map.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly accepted: AcceptedKeys;
  private readonly claims = new Map<string, Claim>();
  private readonly maxKeys: number;
  private readonly clock: () => number;

  constructor(options: { maxKeys: number; clock?: () => number }) {
    this.maxKeys = options.maxKeys;
    this.clock = options.clock ?? Date.now;
    this.accepted = new AcceptedKeys(options.maxKeys);
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
      if (expiry > now) {
        this.accepted.set(key, expiry); // now the most recently used
        return Promise.resolve('done');
      }
      this.accepted.delete(key);
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
    this.accepted.set(key, this.clock() + windowMs);
    this.evictPastBound();
    return Promise.resolve();
  }

  /** Forgets the least recently used accepted keys, then the oldest claims, past `maxKeys`. */
  private evictPastBound(): void {
    while (this.size > this.maxKeys) {
      if (this.accepted.deleteOldest()) continue;
      const first = this.claims.keys().next();
      if (first.done === true) break;
      this.claims.delete(first.value);
    }
  }
}
