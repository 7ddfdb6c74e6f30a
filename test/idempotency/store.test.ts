import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MemoryIdempotencyStore,
  RedisIdempotencyStore,
  type IdempotencyStore,
} from '../../src/admission/idempotency/index.js';
import { REDIS_URL, deletePrefix, uniquePrefix } from './redis.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The same contract, on this replica's memory and on the shared Redis. */
const redisClients: Redis[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  for (const client of redisClients) client.disconnect();
  for (const prefix of prefixes) await deletePrefix(prefix);
});

const backends: [string, () => IdempotencyStore][] = [
  ['memory', () => new MemoryIdempotencyStore({ maxKeys: 1000 })],
  [
    'redis',
    () => {
      const client = new Redis(REDIS_URL);
      redisClients.push(client);
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      return new RedisIdempotencyStore(client, prefix);
    },
  ],
];

describe.each(backends)('idempotency store on %s', (_name, makeStore) => {
  it('claims an unknown key once; a second claim sees it in progress', async () => {
    const store = makeStore();
    expect(await store.claim('app:k1', 't1', 10_000)).toBe('claimed');
    expect(await store.claim('app:k1', 't2', 10_000)).toBe('in-progress');
  });

  it('answers done for a confirmed key until the window ends, then lets it be claimed again', async () => {
    const store = makeStore();
    expect(await store.claim('app:k2', 't1', 10_000)).toBe('claimed');
    await store.confirm('app:k2', 300);
    expect(await store.claim('app:k2', 't2', 10_000)).toBe('done');
    await sleep(350);
    expect(await store.claim('app:k2', 't3', 10_000)).toBe('claimed');
  });

  it('frees a released claim so that the retry is processed', async () => {
    const store = makeStore();
    expect(await store.claim('app:k3', 't1', 10_000)).toBe('claimed');
    await store.release('app:k3', 't1');
    expect(await store.claim('app:k3', 't2', 10_000)).toBe('claimed');
  });

  it('ignores a release by a request that no longer owns the claim', async () => {
    const store = makeStore();
    expect(await store.claim('app:k4', 'old', 200)).toBe('claimed');
    await sleep(250); // the lease ran out (a slow or dead request)
    expect(await store.claim('app:k4', 'new', 10_000)).toBe('claimed');
    await store.release('app:k4', 'old');
    expect(await store.claim('app:k4', 'third', 10_000)).toBe('in-progress');
    await store.confirm('app:k4', 10_000);
    await store.release('app:k4', 'new'); // late: the batch was accepted meanwhile
    expect(await store.claim('app:k4', 'fourth', 10_000)).toBe('done');
  });

  it('frees an in-progress claim whose lease ran out (a replica died mid-request)', async () => {
    const store = makeStore();
    expect(await store.claim('app:k5', 't1', 150)).toBe('claimed');
    await sleep(200);
    expect(await store.claim('app:k5', 't2', 10_000)).toBe('claimed');
  });

  it('keeps keys of different apps apart', async () => {
    const store = makeStore();
    await store.confirm('app-a:same', 10_000);
    expect(await store.claim('app-b:same', 't', 10_000)).toBe('claimed');
    expect(await store.claim('app-a:same', 't', 10_000)).toBe('done');
  });
});

describe('memory store bound', () => {
  it('holds at most maxKeys, forgetting the least recently used first', async () => {
    const store = new MemoryIdempotencyStore({ maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) await store.confirm(key, 60_000);
    expect(await store.claim('a', 't', 1000)).toBe('done'); // 'a' is now the most recent
    await store.confirm('d', 60_000); // evicts 'b', the least recently used
    expect(store.size).toBe(3);
    expect(await store.claim('a', 't', 1000)).toBe('done');
    expect(await store.claim('c', 't', 1000)).toBe('done');
    expect(await store.claim('b', 't', 1000)).toBe('claimed');
  });

  it('keeps a full store of accepted keys off the heap, in under 40 bytes a key', async () => {
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    const keys = 100_000;
    // Keys as the ingest path makes them: the app id and a header value, concatenated.
    const headerValues = Array.from({ length: keys }, (_, index) =>
      Buffer.from(`UPQk7yHmHu8G${String(index).padStart(8, '0')}`).toString('latin1'),
    );
    collectGarbage();
    const before = process.memoryUsage();
    const store = new MemoryIdempotencyStore({ maxKeys: keys });
    for (const [index, value] of headerValues.entries()) {
      const key = `web-shop:${value}`;
      await store.claim(key, `token-${index}`, 30_000);
      await store.confirm(key, 600_000);
    }
    collectGarbage();
    const after = process.memoryUsage();
    expect(store.size).toBe(keys);
    // Nothing per key on the garbage-collected heap (as strings in a Map: ~85 bytes a key)...
    expect((after.heapUsed - before.heapUsed) / keys).toBeLessThan(4);
    // ...and ~27 bytes a key in typed arrays: the ring of fingerprints and the hash table.
    expect((after.arrayBuffers - before.arrayBuffers) / keys).toBeLessThan(40);
    // Every key is still known.
    for (const value of headerValues.slice(0, 1000))
      expect(await store.claim(`web-shop:${value}`, 't', 1000)).toBe('done');
  });

  it('measures windows and leases on its clock', async () => {
    let now = 1_000;
    const store = new MemoryIdempotencyStore({ maxKeys: 10, clock: () => now });
    await store.confirm('k', 600_000);
    now += 599_999;
    expect(await store.claim('k', 't', 1000)).toBe('done');
    now += 1;
    expect(await store.claim('k', 't', 1000)).toBe('claimed');
  });
});

describe('two stores on one Redis (two replicas)', () => {
  it('see each other’s claims and confirmations', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const [first, second] = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
    redisClients.push(first, second);
    const replicaA = new RedisIdempotencyStore(first, prefix);
    const replicaB = new RedisIdempotencyStore(second, prefix);
    expect(await replicaA.claim('app:k', 'a', 10_000)).toBe('claimed');
    expect(await replicaB.claim('app:k', 'b', 10_000)).toBe('in-progress');
    await replicaA.confirm('app:k', 10_000);
    expect(await replicaB.claim('app:k', 'b', 10_000)).toBe('done');
    // The key is namespaced under the prefix and holds the app id.
    expect(await first.exists(`${prefix}idem:app:k`)).toBe(1);
  });

  it('let exactly one of many simultaneous claims win', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const clients = Array.from({ length: 4 }, () => new Redis(REDIS_URL));
    redisClients.push(...clients);
    const stores = clients.map((client) => new RedisIdempotencyStore(client, prefix));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        stores[index % stores.length]!.claim('app:race', `t${index}`, 10_000),
      ),
    );
    expect(results.filter((result) => result === 'claimed')).toHaveLength(1);
  });
});
