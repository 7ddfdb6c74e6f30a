import { describe, expect, it } from 'vitest';
import { createRandom, idempotencyKey, valueShapedLike } from './random.js';

describe('the load generator PRNG', () => {
  it('never repeats an idempotency key within a long run', () => {
    // A repeat makes the collector answer a batch as a duplicate without ingesting it, and the
    // load measures nothing: 300,000 keys is a couple of minutes of a bench at full rate.
    const random = createRandom(42);
    const seen = new Set<string>();
    for (let index = 0; index < 300_000; index++) seen.add(idempotencyKey(random));
    expect(seen.size).toBe(300_000);
  });

  it('is reproducible from its seed, and different seeds give different ids', () => {
    const draw = (seed: number) => {
      const random = createRandom(seed);
      return Array.from({ length: 5 }, () => idempotencyKey(random));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(0)).not.toEqual(draw(1));
  });

  it('draws integers in range, every value of a small range about equally often', () => {
    const random = createRandom(1);
    const counts = new Array<number>(10).fill(0);
    for (let index = 0; index < 100_000; index++) {
      const value = random.int(10);
      expect(Number.isInteger(value) && value >= 0 && value < 10).toBe(true);
      counts[value] = (counts[value] ?? 0) + 1;
    }
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(600);
    const float = random.float();
    expect(float >= 0 && float < 1).toBe(true);
  });

  it('keeps the shape of the captured ids', () => {
    const random = createRandom(3);
    expect(valueShapedLike('4bf92f3577b34da6a3ce929d0e0e4736', random)).toMatch(/^[0-9a-f]{32}$/);
    expect(valueShapedLike('aB3dE6gH9j', random)).toMatch(/^[A-Za-z0-9]{10}$/);
    expect(valueShapedLike('v6-1795573534835-7907874007323', random)).toMatch(
      /^[a-z]\d-\d{13}-\d{13}$/,
    );
  });
});
