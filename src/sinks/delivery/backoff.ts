import type { DeliveryOptions } from './types.js';

/**
 * The longest wait a backend's Retry-After can impose. It is honoured above `maxDelayMs` (the
 * backend knows its own state better than our defaults), but a typo like `Retry-After: 86400`
 * must not park a queue for a day.
 */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Milliseconds to wait before attempt `failures + 1`, after `failures` (≥ 1) failed attempts in a
 * row: `initialDelayMs · multiplier^(failures-1)`, capped at `maxDelayMs`, then spread by
 * ±`jitter` so that many queues failing together do not retry in lockstep. A backend's
 * `retryAfterMs` replaces the computed delay (capped at MAX_RETRY_AFTER_MS).
 */
export function retryDelayMs(
  retry: DeliveryOptions['retry'],
  failures: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0)
    return Math.min(Math.round(retryAfterMs), MAX_RETRY_AFTER_MS);
  const exponential = retry.initialDelayMs * retry.multiplier ** Math.max(0, failures - 1);
  const capped = Math.min(retry.maxDelayMs, exponential);
  const jitter = Math.min(1, Math.max(0, retry.jitter));
  const spread = 1 + jitter * (2 * random() - 1);
  return Math.max(0, Math.round(capped * spread));
}
