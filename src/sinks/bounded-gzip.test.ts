import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipBounded, gzipsInProgress } from './bounded-gzip.js';

describe('gzipBounded', () => {
  it('runs at most one compression per thread-pool thread; the rest wait without a zlib stream', async () => {
    const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const bodies = Array.from({ length: 40 }, () => randomBytes(64 * 1024));
    let mostRunning = 0;
    const results = bodies.map((body) => gzipBounded(body));
    const { running, waiting } = gzipsInProgress();
    expect(running).toBeLessThanOrEqual(threads);
    expect(running + waiting).toBe(40);
    const watcher = setInterval(() => {
      mostRunning = Math.max(mostRunning, gzipsInProgress().running);
    }, 1);
    const compressed = await Promise.all(results);
    clearInterval(watcher);
    expect(mostRunning).toBeLessThanOrEqual(threads);
    compressed.forEach((gz, index) => expect(gunzipSync(gz).equals(bodies[index]!)).toBe(true));
    expect(gzipsInProgress()).toEqual({ running: 0, waiting: 0 });
  });

  it('passes the options to zlib and rejects what zlib rejects', async () => {
    const text = Buffer.from('a'.repeat(10_000));
    const fast = await gzipBounded(text, { level: 1 });
    expect(gunzipSync(fast).equals(text)).toBe(true);
    await expect(gzipBounded(text, { level: 42 })).rejects.toThrow(/level/);
  });
});
