import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FallbackIdempotencyStore,
  MemoryIdempotencyStore,
  RedisIdempotencyStore,
  createIdempotencyStore,
} from '../../src/admission/idempotency/index.js';
import { deletePrefix, startRedisProxy, uniquePrefix } from './redis.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function capturingLogger() {
  const messages: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
          messages.push(JSON.parse(line) as { level: number; msg: string });
        callback();
      },
    }),
  );
  return { logger, messages };
}

const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(prefix);
});

describe('Redis unreachable: idempotency falls back to memory', () => {
  it('serves every call from memory when Redis is down from the start, logging once', async () => {
    const { logger, messages } = capturingLogger();
    let fallbacks = 0;
    const handle = createIdempotencyStore({
      redisUrl: 'redis://127.0.0.1:1', // nothing listens there
      keyPrefix: uniquePrefix(),
      maxKeys: 1000,
      logger,
      onFallback: () => fallbacks++,
      connectTimeoutMs: 100,
    });
    await handle.ready; // resolves after the timeout, never rejects
    const started = Date.now();
    for (let index = 0; index < 20; index++) {
      expect(await handle.store.claim(`app:k${index}`, 't', 10_000)).toBe('claimed');
      await handle.store.confirm(`app:k${index}`, 10_000);
      expect(await handle.store.claim(`app:k${index}`, 't2', 10_000)).toBe('done');
    }
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fallbacks).toBe(60);
    expect(messages.filter((message) => message.level === 40)).toHaveLength(1);
    expect(messages[0]?.msg).toMatch(/Redis is unreachable/);
    await handle.close();
  });

  it('switches to memory when Redis goes away and back to Redis when it returns', async () => {
    const proxy = await startRedisProxy();
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const { logger, messages } = capturingLogger();
    let now = 0;
    const redis = new Redis(proxy.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    const local = new MemoryIdempotencyStore({ maxKeys: 1000 });
    const store = new FallbackIdempotencyStore(new RedisIdempotencyStore(redis, prefix), local, {
      logger,
      retryAfterMs: 1000,
      clock: () => now,
    });
    try {
      await new Promise((resolve) => redis.once('ready', resolve));
      await store.confirm('app:before', 60_000);
      expect(local.size).toBe(0); // it went to Redis

      await proxy.down();
      await sleep(50);
      // Never throws, never fails the request: the claim is served from memory.
      expect(await store.claim('app:during', 't', 60_000)).toBe('claimed');
      await store.confirm('app:during', 60_000);
      expect(await store.claim('app:during', 't2', 60_000)).toBe('done');
      expect(local.size).toBe(1);

      await proxy.up();
      await new Promise((resolve) => redis.once('ready', resolve));
      now += 1001; // the retry interval is over: Redis is asked again
      expect(await store.claim('app:before', 't', 60_000)).toBe('done');
      const warnings = messages.filter((message) => message.level === 40);
      const infos = messages.filter((message) => message.level === 30);
      expect(warnings).toHaveLength(1);
      expect(infos.map((message) => message.msg)).toEqual([
        'idempotency keys are shared through Redis again',
      ]);
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });

  it('settles a claim made in memory there, even when Redis is back by then', async () => {
    const proxy = await startRedisProxy();
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const { logger } = capturingLogger();
    let now = 0;
    const redis = new Redis(proxy.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    redis.on('error', () => {});
    const local = new MemoryIdempotencyStore({ maxKeys: 1000 });
    const store = new FallbackIdempotencyStore(new RedisIdempotencyStore(redis, prefix), local, {
      logger,
      retryAfterMs: 1000,
      clock: () => now,
    });
    try {
      await new Promise((resolve) => redis.once('ready', resolve));
      await proxy.down();
      await sleep(50);
      // Two requests claim during the outage: served from memory.
      expect(await store.claim('app:accepted', 'a', 60_000)).toBe('claimed');
      expect(await store.claim('app:failed', 'f', 60_000)).toBe('claimed');

      await proxy.up();
      await new Promise((resolve) => redis.once('ready', resolve));
      now += 1001;
      await store.confirm('app:accepted', 60_000); // the first was answered 202
      await store.release('app:failed', 'f'); // the second failed
      // The other replicas see the accepted batch in Redis…
      expect(await new RedisIdempotencyStore(redis, prefix).claim('app:accepted', 'x', 1000)).toBe(
        'done',
      );
      // …and this replica's memory holds no stale claim for either key, should Redis fail again.
      expect(await local.claim('app:accepted', 'y', 1000)).toBe('done');
      expect(await local.claim('app:failed', 'z', 1000)).toBe('claimed');
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });

  it('bounds the wait when a shared client queues commands for a Redis that never answers', async () => {
    // A server that accepts connections and never says a word: an offline-queueing client
    // would hold each command forever.
    const silent: Server = createServer((socket: Socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
    redis.on('error', () => {});
    void redis.connect().catch(() => {});
    const { logger } = capturingLogger();
    const store = new FallbackIdempotencyStore(
      new RedisIdempotencyStore(redis, uniquePrefix()),
      new MemoryIdempotencyStore({ maxKeys: 10 }),
      { logger, timeoutMs: 100 },
    );
    try {
      const started = Date.now();
      expect(await store.claim('app:k', 't', 10_000)).toBe('claimed');
      expect(Date.now() - started).toBeLessThan(500);
      // The interval after a failure skips Redis altogether: no second wait.
      const again = Date.now();
      expect(await store.claim('app:k', 't2', 10_000)).toBe('in-progress');
      expect(Date.now() - again).toBeLessThan(50);
    } finally {
      redis.disconnect();
      silent.close();
    }
  });
});
