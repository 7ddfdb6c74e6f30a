import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, retryDelayMs } from './backoff.js';

const retry = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0.2 };

describe('retry delay', () => {
  it('grows exponentially up to maxDelayMs', () => {
    const middle = () => 0.5;
    expect(
      [1, 2, 3, 4, 5, 10].map((failures) => retryDelayMs(retry, failures, undefined, middle)),
    ).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads delays by ±jitter', () => {
    expect(retryDelayMs(retry, 3, undefined, () => 0)).toBe(320);
    expect(retryDelayMs(retry, 3, undefined, () => 1)).toBe(480);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelayMs(retry, 3, undefined)));
    expect(spread.size).toBeGreaterThan(10);
    for (const delay of spread) expect(delay).toBeGreaterThanOrEqual(320);
  });

  it('takes the backend Retry-After as it is, above maxDelayMs too, but not past the cap', () => {
    expect(retryDelayMs(retry, 1, 5000)).toBe(5000);
    expect(retryDelayMs(retry, 9, 0)).toBe(0);
    expect(retryDelayMs(retry, 1, 86_400_000)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryDelayMs(retry, 2, Number.NaN, () => 0.5)).toBe(200);
  });
});
