import { DONE, claimValue, type ClaimState, type IdempotencyStore } from './store.js';

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * Keys of this replica, in a map bounded by `maxKeys`: least recently used go first when it is
 * full, expired ones when they are met. A JavaScript `Map` iterates in insertion order, so
 * re-inserting a key on use keeps the least recently used one first.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly maxKeys: number;
  private readonly clock: () => number;

  constructor(options: { maxKeys: number; clock?: () => number }) {
    this.maxKeys = options.maxKeys;
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  claim(key: string, token: string, leaseMs: number): Promise<ClaimState> {
    const entry = this.live(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      return Promise.resolve(entry.value === DONE ? 'done' : 'in-progress');
    }
    this.put(key, { value: claimValue(token), expiresAt: this.clock() + leaseMs });
    return Promise.resolve('claimed');
  }

  release(key: string, token: string): Promise<void> {
    if (this.live(key)?.value === claimValue(token)) this.entries.delete(key);
    return Promise.resolve();
  }

  confirm(key: string, windowMs: number): Promise<void> {
    this.put(key, { value: DONE, expiresAt: this.clock() + windowMs });
    return Promise.resolve();
  }

  /** The entry of `key` unless it has expired (an expired one is removed). */
  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.clock()) return entry;
    this.entries.delete(key);
    return undefined;
  }

  private put(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
