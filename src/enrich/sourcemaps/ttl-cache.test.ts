import { describe, expect, it } from 'vitest';
import { TtlCache } from './ttl-cache.js';

describe('TtlCache', () => {
  it('forgets an entry once its time is up', () => {
    let now = 0;
    const cache = new TtlCache<string>(10, () => now);
    cache.set('a', 'x', 100);
    now = 99;
    expect(cache.get('a')).toBe('x');
    now = 100;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('pushes out the entry set longest ago, through many rounds of eviction and re-sets', () => {
    // The cursor that finds the oldest entry lives from one eviction to the next: it must still
    // meet re-set keys at their new place, after the entries set before them.
    const capacity = 50;
    const cache = new TtlCache<number>(capacity);
    const model: string[] = []; // oldest first
    for (let step = 0; step < 5_000; step++) {
      const key = step % 7 === 3 ? model[step % model.length]! : `k${step}`;
      cache.set(key, step, 60_000);
      const at = model.indexOf(key);
      if (at >= 0) model.splice(at, 1);
      model.push(key);
      if (model.length > capacity) model.shift();
      expect(cache.size).toBe(model.length);
    }
    for (const key of model) expect(cache.get(key)).toBeDefined();
    expect(cache.get('k0')).toBeUndefined();
  });

  it('drops the entries of a prefix', () => {
    const cache = new TtlCache<number>(10);
    cache.set('app-a:1', 1, 1000);
    cache.set('app-b:1', 2, 1000);
    cache.deletePrefix('app-a:');
    expect(cache.get('app-a:1')).toBeUndefined();
    expect(cache.get('app-b:1')).toBe(2);
  });
});
