/**
 * XXH3-64 (seed 0, default secret) for inputs of up to 240 bytes, in plain TypeScript with
 * BigInt. It is the hash the Pharos gateway samples sessions with (`@node-rs/xxhash`'s
 * `xxh3.xxh64`), so the browser keeps exactly the sessions the gateway keeps. Session ids are
 * 10 characters by default; inputs longer than 240 bytes take XXH3's long-input path, which is
 * not needed here: `xxh3Short` returns undefined for them and the caller defers to the gateway.
 *
 * Transcribed from xxhash.h (XXH3_len_0to16_64b, XXH3_len_17to128_64b, XXH3_len_129to240_64b);
 * test/remote-config/xxh3.test.ts compares it with the native implementation for every length.
 */

const MASK64 = (1n << 64n) - 1n;

const PRIME32_1 = 0x9e3779b1n;
const PRIME64_1 = 0x9e3779b185ebca87n;
const PRIME64_2 = 0xc2b2ae3d27d4eb4fn;
const PRIME64_3 = 0x165667b19e3779f9n;
const PRIME_MX1 = 0x165667919e3779f9n;
const PRIME_MX2 = 0x9fb21c651e98df25n;

/** XXH3's default 192-byte secret (`XXH3_kSecret`). */
const SECRET = new Uint8Array([
  0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
  0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
  0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
  0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
  0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
  0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
  0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
  0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
  0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
  0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
  0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
  0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
]);
/** `XXH3_SECRET_SIZE_MIN`: the mid-size path reads its last secret bytes relative to it. */
const SECRET_SIZE_MIN = 136;

/** Longest input this module hashes; longer ones need XXH3's long path. */
export const XXH3_SHORT_MAX_BYTES = 240;

const bytes = (data: Uint8Array, offset: number) => data[offset] ?? 0;

function read32(data: Uint8Array, offset: number): bigint {
  return BigInt(
    (bytes(data, offset) |
      (bytes(data, offset + 1) << 8) |
      (bytes(data, offset + 2) << 16) |
      (bytes(data, offset + 3) << 24)) >>>
      0,
  );
}

function read64(data: Uint8Array, offset: number): bigint {
  return read32(data, offset) | (read32(data, offset + 4) << 32n);
}

const mul = (a: bigint, b: bigint) => (a * b) & MASK64;
const add = (a: bigint, b: bigint) => (a + b) & MASK64;
const rotl64 = (value: bigint, bits: bigint) =>
  ((value << bits) | (value >> (64n - bits))) & MASK64;

function swap32(value: bigint): bigint {
  return (
    ((value & 0xffn) << 24n) |
    ((value & 0xff00n) << 8n) |
    ((value >> 8n) & 0xff00n) |
    ((value >> 24n) & 0xffn)
  );
}

function swap64(value: bigint): bigint {
  return (swap32(value & 0xffffffffn) << 32n) | swap32(value >> 32n);
}

/** 64×64 → 128-bit product, low and high halves xor-ed together. */
function mul128Fold64(a: bigint, b: bigint): bigint {
  const product = a * b;
  return (product & MASK64) ^ (product >> 64n);
}

function xxh64Avalanche(hash: bigint): bigint {
  hash ^= hash >> 33n;
  hash = mul(hash, PRIME64_2);
  hash ^= hash >> 29n;
  hash = mul(hash, PRIME64_3);
  return hash ^ (hash >> 32n);
}

function xxh3Avalanche(hash: bigint): bigint {
  hash ^= hash >> 37n;
  hash = mul(hash, PRIME_MX1);
  return hash ^ (hash >> 32n);
}

function rrmxmx(hash: bigint, length: number): bigint {
  hash ^= rotl64(hash, 49n) ^ rotl64(hash, 24n);
  hash = mul(hash, PRIME_MX2);
  hash ^= add(hash >> 35n, BigInt(length));
  hash = mul(hash, PRIME_MX2);
  return hash ^ (hash >> 28n);
}

function mix16(data: Uint8Array, offset: number, secretOffset: number): bigint {
  return mul128Fold64(
    read64(data, offset) ^ read64(SECRET, secretOffset),
    read64(data, offset + 8) ^ read64(SECRET, secretOffset + 8),
  );
}

function len0to16(data: Uint8Array): bigint {
  const length = data.length;
  if (length > 8) {
    const low = read64(data, 0) ^ (read64(SECRET, 24) ^ read64(SECRET, 32));
    const high = read64(data, length - 8) ^ (read64(SECRET, 40) ^ read64(SECRET, 48));
    const acc = add(add(add(BigInt(length), swap64(low)), high), mul128Fold64(low, high));
    return xxh3Avalanche(acc);
  }
  if (length >= 4) {
    const input64 = read32(data, length - 4) + (read32(data, 0) << 32n);
    return rrmxmx(input64 ^ (read64(SECRET, 8) ^ read64(SECRET, 16)), length);
  }
  if (length > 0) {
    const combined =
      ((bytes(data, 0) << 16) |
        (bytes(data, length >> 1) << 24) |
        bytes(data, length - 1) |
        (length << 8)) >>>
      0;
    return xxh64Avalanche(BigInt(combined) ^ (read32(SECRET, 0) ^ read32(SECRET, 4)));
  }
  return xxh64Avalanche(read64(SECRET, 56) ^ read64(SECRET, 64));
}

function len17to128(data: Uint8Array): bigint {
  const length = data.length;
  let acc = mul(BigInt(length), PRIME64_1);
  if (length > 32) {
    if (length > 64) {
      if (length > 96) {
        acc = add(acc, mix16(data, 48, 96));
        acc = add(acc, mix16(data, length - 64, 112));
      }
      acc = add(acc, mix16(data, 32, 64));
      acc = add(acc, mix16(data, length - 48, 80));
    }
    acc = add(acc, mix16(data, 16, 32));
    acc = add(acc, mix16(data, length - 32, 48));
  }
  acc = add(acc, mix16(data, 0, 0));
  acc = add(acc, mix16(data, length - 16, 16));
  return xxh3Avalanche(acc);
}

function len129to240(data: Uint8Array): bigint {
  const length = data.length;
  let acc = mul(BigInt(length), PRIME64_1);
  for (let round = 0; round < 8; round++) acc = add(acc, mix16(data, 16 * round, 16 * round));
  acc = xxh3Avalanche(acc);
  const rounds = Math.floor(length / 16);
  for (let round = 8; round < rounds; round++) {
    acc = add(acc, mix16(data, 16 * round, 16 * (round - 8) + 3));
  }
  acc = add(acc, mix16(data, length - 16, SECRET_SIZE_MIN - 17));
  return xxh3Avalanche(acc);
}

/** XXH3-64 of `data` (at most 240 bytes), or undefined when it is longer. */
export function xxh3Short(data: Uint8Array): bigint | undefined {
  if (data.length <= 16) return len0to16(data);
  if (data.length <= 128) return len17to128(data);
  if (data.length <= XXH3_SHORT_MAX_BYTES) return len129to240(data);
  return undefined;
}

// PRIME32_1 is part of XXH3's constant set but only used by the long path; keep the table whole
// for whoever extends this, without an unused-variable warning.
void PRIME32_1;
