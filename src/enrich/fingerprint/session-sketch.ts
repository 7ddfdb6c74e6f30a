import { xxh3 } from '@node-rs/xxhash';

/**
 * Distinct sessions per error group, counted with a k-minimum-values sketch: each group keeps the
 * hashes of at most `k` sessions, the smallest ones. While fewer than `k` distinct sessions were
 * seen, the kept hashes are all of them and the count is exact; past that, the k-th smallest hash
 * estimates the total (relative standard error about 1/√(k−2): 3.2 % for k = 1000).
 *
 * Unlike a capped list, the estimate keeps growing with the group; unlike HyperLogLog, small
 * groups (most of them) are counted exactly, and the store keeps hashes, not session ids.
 */

/** Hashes are 53-bit integers: exact in a JavaScript number and in an SQLite INTEGER. */
export const HASH_SPACE = 2 ** 53;

export const DEFAULT_SKETCH_SIZE = 1000;

export function sessionHash(sessionId: string): number {
  return Number(xxh3.xxh64(sessionId) >> 11n);
}

/**
 * The number of distinct sessions. `kept` hashes are in the sketch, the largest being
 * `largestKept`; `saturated` once a hash was ever evicted (more than `k` distinct seen).
 */
export function estimateSessions(
  kept: number,
  largestKept: number | null,
  saturated: boolean,
  k: number,
): number {
  if (!saturated || largestKept === null || largestKept <= 0) return kept;
  return Math.max(kept, Math.round(((k - 1) * HASH_SPACE) / largestKept));
}
