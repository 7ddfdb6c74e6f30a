import { describe, expect, it } from 'vitest';
import { Latch } from './wait.js';

describe('Latch', () => {
  it('wakes the waits under way when it fires, and later waits at once', async () => {
    const latch = new Latch();
    const woken: string[] = [];
    const first = latch.during((fired) => fired.then(() => woken.push('first')));
    const second = latch.during((fired) => fired.then(() => woken.push('second')));
    await Promise.resolve();
    expect(woken).toEqual([]);
    expect(latch.waiting).toBe(2);
    latch.fire();
    await Promise.all([first, second]);
    expect(woken).toEqual(['first', 'second']);
    await latch.during((fired) => fired);
    expect(latch.waiting).toBe(0);
  });

  it('forgets a wait that ended another way, so waits do not accumulate before it fires', async () => {
    const latch = new Latch();
    for (let i = 0; i < 100; i++) {
      const result = await latch.during((fired) => Promise.race([fired, Promise.resolve(i)]));
      expect(result).toBe(i);
    }
    expect(latch.waiting).toBe(0);
  });

  it('forgets a wait whose function throws', async () => {
    const latch = new Latch();
    await expect(latch.during(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(latch.waiting).toBe(0);
  });
});
