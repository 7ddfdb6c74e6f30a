import { randomBytes } from 'node:crypto';
import { xxh3 } from '@node-rs/xxhash';
import { describe, expect, it } from 'vitest';
import { XXH3_SHORT_MAX_BYTES, xxh3Short } from '../../packages/faro-remote-config/src/xxh3.js';

describe("the browser helper's XXH3-64", () => {
  it('equals the native XXH3-64 the gateway uses, for every length it hashes', () => {
    for (let length = 0; length <= XXH3_SHORT_MAX_BYTES; length++) {
      for (let sample = 0; sample < 25; sample++) {
        const data = new Uint8Array(randomBytes(length));
        expect(xxh3Short(data), `length ${length}`).toBe(xxh3.xxh64(data));
      }
    }
  });

  it('matches on edge bytes (all zeros, all 0xff) at the boundaries between its code paths', () => {
    for (const length of [0, 1, 3, 4, 8, 9, 16, 17, 32, 33, 64, 65, 96, 97, 128, 129, 240]) {
      for (const fill of [0x00, 0xff]) {
        const data = new Uint8Array(length).fill(fill);
        expect(xxh3Short(data), `length ${length} fill ${fill}`).toBe(xxh3.xxh64(data));
      }
    }
  });

  it('declines inputs longer than 240 bytes instead of hashing them wrong', () => {
    expect(xxh3Short(new Uint8Array(241))).toBeUndefined();
  });
});
