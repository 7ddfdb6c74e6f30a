/**
 * A small seeded PRNG (xoshiro128**, four 32-bit words of state, period 2^128 - 1) for the ids of
 * simulated sessions. Ids only need to be distinct and shaped like the SDK's, not unpredictable;
 * `crypto.randomBytes` per id would cost the load generator more CPU than rendering the rest of
 * the body, and a seed makes a run reproducible. (A 64-bit xorshift run on 32-bit halves, used
 * before, repeated its idempotency keys after a few thousand requests: the collector then answered
 * most of the load as duplicates without ingesting it.)
 */
export interface Random {
  /** A uniformly distributed integer in [0, bound). */
  int(bound: number): number;
  /** A float in [0, 1). */
  float(): number;
}

export function createRandom(seed: number = Date.now()): Random {
  // SplitMix32 spreads the seed over the state, so nearby seeds give unrelated sequences.
  let s0 = splitMix(seed >>> 0);
  let s1 = splitMix(s0 ^ 0x9e3779b9);
  let s2 = splitMix(s1 ^ 0x632be5ab);
  let s3 = splitMix(s2 ^ 0x85ebca6b);
  if ((s0 | s1 | s2 | s3) === 0) s3 = 1; // the one state xoshiro never leaves
  const next = (): number => {
    const result = Math.imul(rotateLeft(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotateLeft(s3, 11);
    return result;
  };
  return {
    int: (bound) => Math.floor((next() / 0x1_0000_0000) * bound),
    float: () => next() / 0x1_0000_0000,
  };
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function splitMix(value: number): number {
  let z = (value + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

const HEX = '0123456789abcdef';
const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALPHANUMERIC = LOWER + UPPER + DIGITS;

/**
 * A fresh value shaped like `sample`: lower-case hex stays hex of the same length (trace and span
 * ids); otherwise digits, lower- and upper-case letters are replaced within their class and
 * anything else is kept (`v6-1795573534835-7907874007323` keeps its dashes). Faro's 10-character
 * session and navigation ids mix cases and digits freely, so those draw from all three classes.
 */
export function valueShapedLike(sample: string, random: Random): string {
  if (/^[0-9a-f]+$/.test(sample) && sample.length >= 16) return draw(HEX, sample.length, random);
  if (/^[A-Za-z0-9]{10}$/.test(sample)) return draw(ALPHANUMERIC, 10, random);
  let out = '';
  for (const char of sample) {
    if (char >= '0' && char <= '9') out += DIGITS[random.int(10)];
    else if (char >= 'a' && char <= 'z') out += LOWER[random.int(26)];
    else if (char >= 'A' && char <= 'Z') out += UPPER[random.int(26)];
    else out += char;
  }
  return out;
}

/** `length` characters drawn from `alphabet`. */
export function draw(alphabet: string, length: number, random: Random): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[random.int(alphabet.length)];
  return out;
}

/** A 20-character `Idempotency-Key`, as the SDK sends on every batch. */
export function idempotencyKey(random: Random): string {
  return draw(ALPHANUMERIC, 20, random);
}
