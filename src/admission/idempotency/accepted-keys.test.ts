import { describe, expect, it } from 'vitest';
import { AcceptedKeys } from './accepted-keys.js';

/** The same contract on a Map of strings, whose insertion order is the LRU order. */
class ModelKeys {
  readonly entries = new Map<string, number>();
  constructor(private readonly capacity: number) {}
  get(key: string) {
    return this.entries.get(key);
  }
  set(key: string, expiresAt: number) {
    this.entries.delete(key);
    if (this.entries.size === this.capacity) this.deleteOldest();
    this.entries.set(key, expiresAt);
  }
  delete(key: string) {
    return this.entries.delete(key);
  }
  deleteOldest() {
    const first = this.entries.keys().next();
    if (first.done === true) return false;
    this.entries.delete(first.value);
    return true;
  }
}

/** A small deterministic generator, so that a failure can be replayed. */
function lcg(seed: number) {
  let state = seed >>> 0;
  return (below: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % below;
  };
}

describe('AcceptedKeys', () => {
  it('finds what was set, with its expiry, and forgets what was deleted', () => {
    const keys = new AcceptedKeys(10);
    keys.set('app:a', 1000);
    keys.set('app:b', 2000);
    expect(keys.get('app:a')).toBe(1000);
    expect(keys.get('app:b')).toBe(2000);
    expect(keys.get('app:c')).toBeUndefined();
    expect(keys.delete('app:a')).toBe(true);
    expect(keys.delete('app:a')).toBe(false);
    expect(keys.get('app:a')).toBeUndefined();
    expect(keys.size).toBe(1);
  });

  it('forgets the least recently set key when full', () => {
    const keys = new AcceptedKeys(3);
    for (const key of ['a', 'b', 'c']) keys.set(key, 1);
    keys.set('a', 1); // 'a' is now the most recent
    keys.set('d', 1);
    expect(keys.size).toBe(3);
    expect(keys.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((key) => keys.get(key))).toEqual([1, 1, 1]);
  });

  it('keeps keys that differ in one character, or only in order, apart', () => {
    const keys = new AcceptedKeys(100);
    keys.set('web-shop:abc', 1);
    expect(keys.get('web-shop:abd')).toBeUndefined();
    expect(keys.get('web-shop:acb')).toBeUndefined();
    expect(keys.get('web-sho:pabc')).toBeUndefined();
    expect(keys.get('web-shop:abc')).toBe(1);
  });

  it('behaves as an LRU map of strings over a long random sequence of operations', () => {
    // Few distinct keys against a small capacity: probes collide, entries are shifted back on
    // deletion, the ring wraps many times and re-used keys leave dead slots behind.
    for (const capacity of [1, 2, 7, 64]) {
      const random = lcg(capacity);
      const keys = new AcceptedKeys(capacity);
      const model = new ModelKeys(capacity);
      for (let step = 0; step < 20_000; step++) {
        const key = `app:${random(capacity * 3)}`;
        const operation = random(10);
        if (operation < 5) {
          keys.set(key, step);
          model.set(key, step);
        } else if (operation < 7) {
          expect(keys.delete(key)).toBe(model.delete(key));
        } else if (operation < 8) {
          expect(keys.deleteOldest()).toBe(model.deleteOldest());
        } else {
          expect(keys.get(key)).toBe(model.get(key));
        }
        expect(keys.size).toBe(model.entries.size);
      }
      for (const [key, expiresAt] of model.entries) expect(keys.get(key)).toBe(expiresAt);
    }
  });

  it('stays exactly LRU when many keys are re-used, compacting the ring', () => {
    const capacity = 1600;
    const keys = new AcceptedKeys(capacity);
    const model = new ModelKeys(capacity);
    for (let index = 0; index < 20_000; index++) {
      // Every other set re-uses a recent key: far more dead slots than the ring's slack.
      const key = index % 2 === 1 ? `k${index - 5}` : `k${index}`;
      keys.set(key, index);
      model.set(key, index);
    }
    expect(keys.size).toBe(capacity);
    for (const [key, expiresAt] of model.entries) expect(keys.get(key)).toBe(expiresAt);
    expect(keys.get('k0')).toBeUndefined();
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new AcceptedKeys(0)).toThrow(RangeError);
    expect(() => new AcceptedKeys(1.5)).toThrow(RangeError);
  });
});
