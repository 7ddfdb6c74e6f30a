import { describe, expect, it } from 'vitest';
import { MapTooLargeError, SourceMapCache, type RawSourceMap } from './map-cache.js';
import { InvalidSourceMapError, estimateHeapBytes, parseSourceMapJson } from './source-map-text.js';

/** A valid map padded to exactly `bytes` bytes of JSON. */
function mapOfSize(bytes: number): Buffer {
  const base = JSON.stringify({
    version: 3,
    sources: ['a.ts'],
    names: [],
    mappings: 'AAAA',
    x: '',
  });
  return Buffer.from(base.replace('"x":""', `"x":"${' '.repeat(bytes - base.length)}"`));
}
const reader = (text: Buffer) => () => Promise.resolve<RawSourceMap>({ text });
/** What the cache charges for a map: its estimated heap (JSON + one segment + one line here). */
const charge = (text: Buffer) => estimateHeapBytes(parseSourceMapJson(text), text.length);

describe('SourceMapCache', () => {
  it('stays under its byte bound, evicting the least recently used', async () => {
    const evicted: number[] = [];
    const small = mapOfSize(1000);
    expect(charge(small)).toBe(1000 + 100 + 180);
    const cache = new SourceMapCache(
      { maxBytes: 3 * charge(small) },
      { evicted: (n) => evicted.push(n) },
    );
    await cache.load('a', reader(small));
    await cache.load('b', reader(small));
    await cache.load('c', reader(small));
    expect(cache.bytes).toBe(3 * charge(small));
    expect(cache.peek('a')).toBeDefined(); // a is now the most recently used
    await cache.load('d', reader(mapOfSize(1500)));
    expect(cache.bytes).toBe(charge(small) + charge(mapOfSize(1500)));
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('c')).toBeUndefined();
    expect(cache.peek('a')).toBeDefined();
    expect(cache.peek('d')).toBeDefined();
    expect(evicted).toEqual([2]);
  });

  it('refuses a map larger than the whole cache, and keeps nothing of it', async () => {
    const cache = new SourceMapCache({ maxBytes: 1000 });
    await expect(cache.load('big', reader(mapOfSize(2000)))).rejects.toBeInstanceOf(
      MapTooLargeError,
    );
    expect(cache.bytes).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('does not cache what is not a map', async () => {
    const cache = new SourceMapCache({ maxBytes: 10_000 });
    await expect(cache.load('bad', reader(Buffer.from('{"version":3}')))).rejects.toBeInstanceOf(
      InvalidSourceMapError,
    );
    expect(cache.size).toBe(0);
  });

  it('loads a cold map once for any number of concurrent lookups', async () => {
    const cache = new SourceMapCache({ maxBytes: 10_000 });
    let reads = 0;
    const read = async () => {
      reads += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { text: mapOfSize(500) };
    };
    const maps = await Promise.all(Array.from({ length: 50 }, () => cache.load('k', read)));
    expect(reads).toBe(1);
    expect(new Set(maps).size).toBe(1);
  });

  it('parses at most maxConcurrentLoads distinct maps at once', async () => {
    const cache = new SourceMapCache({ maxBytes: 1_000_000, maxConcurrentLoads: 3 });
    let active = 0;
    let peak = 0;
    const read = async () => {
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active -= 1;
      return { text: mapOfSize(300) };
    };
    await Promise.all(Array.from({ length: 20 }, (_, index) => cache.load(`k${index}`, read)));
    expect(peak).toBe(3);
    expect(cache.size).toBe(20);
  });
});
