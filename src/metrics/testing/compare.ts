import { expect } from 'vitest';
import type { Registry } from 'prom-client';
import { metricsText } from '../exposition.js';

/**
 * Shared by the tests that compare a tallied metric with prom-client's own: both get the same
 * seeded calls, and their registries must read the same.
 */

/** A seeded generator (mulberry32): both metrics get the same calls, and a failure replays. */
export function random(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Label values to escape, a number (prom-client keeps it as given) and an empty one. */
export const TENANTS = ['acme', 'globex', 'a"b\\c\nd', 7] as const;
export const ROUTES = ['/a', '/b/:id', ''] as const;

/**
 * The tallied registry's text, both ways Pharos reads it: prom-client's `metrics()` (as the
 * cluster's aggregation reads the metrics) and `metricsText` (a scrape), each equal to the plain
 * registry's.
 */
export async function expectSameText(tallied: Registry, plain: Registry): Promise<void> {
  const expected = await plain.metrics();
  expect(await tallied.metrics()).toBe(expected);
  expect(await metricsText(tallied)).toBe(expected);
}

/** The error a call throws, as comparable data. */
export function errorOf(call: () => unknown): { name: string; message: string } | undefined {
  try {
    call();
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  return undefined;
}
