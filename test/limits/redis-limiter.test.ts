import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Limiter } from '../../src/admission/limits/index.js';
import { MemoryBuckets, chargeSet, retryAfterSeconds } from '../../src/admission/limits/gcra.js';
import { RedisBuckets } from '../../src/admission/limits/redis-buckets.js';
import {
  makeApp,
  manualClock,
  metricValue,
  usage,
} from '../../src/admission/limits/testing/fixtures.js';
import type { BucketSpec } from '../../src/admission/limits/types.js';
import {
  burstOf,
  deleteKeys,
  inRedis,
  rate,
  redisLimiter,
  refusedBy,
  type RedisLimiterSetup,
} from './support.js';
import { SHARED_REDIS_URL, uniquePrefix } from './redis-server.js';

/*
 * The Redis limiter against the machine's shared Redis (each test under its own key prefix,
 * deleted afterwards). Most tests pass a manual clock to the script, so counts are exact; the
 * real-time tests use the Redis server's clock, as production does. Keys expire in real time
 * (PX) even under a manual clock, so tests that read keys use rates slow enough for the keys to
 * outlive the test.
 */

const shop = makeApp('shop', 'acme');
const blog = makeApp('blog', 'acme');

const prefixes: string[] = [];
const limiters: Limiter[] = [];
const registries: Registry[] = [];
let inspect: Redis;

beforeAll(async () => {
  inspect = new Redis(SHARED_REDIS_URL, { lazyConnect: true });
  await inspect.connect();
});
afterEach(async () => {
  // Every count above assumed Redis decided throughout: a fallback would void them.
  for (const limiter of limiters) expect(limiter.backend()).toBe('redis');
  for (const registry of registries.splice(0)) {
    expect(await metricValue(registry, 'pharos_limiter_fallbacks_total')).toBeUndefined();
  }
  await Promise.all(limiters.splice(0).map((limiter) => limiter.close()));
});
afterAll(async () => {
  await Promise.all(prefixes.map((prefix) => deleteKeys(SHARED_REDIS_URL, prefix)));
  inspect.disconnect();
});

async function start(setup: Omit<RedisLimiterSetup, 'url' | 'prefix'> & { prefix?: string }) {
  const prefix = setup.prefix ?? uniquePrefix();
  if (!prefixes.includes(prefix)) prefixes.push(prefix);
  const made = redisLimiter({ url: SHARED_REDIS_URL, prefix, ...setup });
  limiters.push(made.limiter);
  registries.push(made.registry);
  expect(await made.limiter.ready(3000)).toBe(true);
  return { ...made, prefix };
}

async function steady(
  limiter: Limiter,
  clock: { advance(ms: number): void },
  durationMs: number,
  stepMs: number,
  app = shop,
): Promise<number> {
  let passed = 0;
  for (let t = stepMs; t <= durationMs; t += stepMs) {
    clock.advance(stepMs);
    if ((await limiter.checkRequest(app.tenantId, app)).allowed) passed++;
  }
  return passed;
}

describe('request limits in Redis', () => {
  it('answers with a promise, from Redis', async () => {
    const { limiter, registry } = await start({ levels: { tenant: { requests: rate(10, 5) } } });
    const decision = limiter.checkRequest('acme', shop);
    expect(decision).toBeInstanceOf(Promise);
    expect((await decision).allowed).toBe(true);
    expect(limiter.backend()).toBe('redis');
    expect(await metricValue(registry, 'pharos_limiter_backend', { backend: 'redis' })).toBe(1);
    expect(await metricValue(registry, 'pharos_limiter_backend', { backend: 'local' })).toBe(0);
  });

  it.each([
    ['global', { global: { requests: rate(10, 5) } }],
    ['tenant', { tenant: { requests: rate(10, 5) } }],
    ['app', { app: { requests: rate(10, 5) } }],
  ] as const)('%s: a burst, then the steady rate', async (_level, levels) => {
    const clock = manualClock();
    const { limiter } = await start({ levels, clock: clock.now });
    expect(await burstOf(limiter, shop)).toBe(5);
    expect(await steady(limiter, clock, 3000, 20)).toBe(30);
    clock.advance(60_000);
    expect(await burstOf(limiter, shop)).toBe(5);
  });

  it('holds the steady rate on the Redis server clock (±10 %)', async () => {
    const { limiter } = await start({ levels: { tenant: { requests: rate(50, 10) } } });
    const started = performance.now();
    let passed = 0;
    // Offer ~200/s for 2 s, several requests in flight at once as under real load.
    while (performance.now() - started < 2000) {
      const answers = await Promise.all(
        [1, 2, 3].map(() => inRedis(limiter.checkRequest('acme', shop))),
      );
      passed += answers.filter((answer) => answer.allowed).length;
      await sleep(15);
    }
    const elapsedSeconds = (performance.now() - started) / 1000;
    const expected = 10 + 50 * elapsedSeconds;
    expect(passed).toBeGreaterThanOrEqual(expected * 0.9);
    expect(passed).toBeLessThanOrEqual(expected * 1.1);
  });

  it('a request refused by the app bucket takes nothing from the tenant or global buckets', async () => {
    const clock = manualClock();
    const { limiter, prefix } = await start({
      levels: { global: { requests: rate(1, 100) }, tenant: { requests: rate(1, 100) } },
      clock: clock.now,
    });
    const limitedApp = makeApp('limited', 'acme', { requests: rate(1, 2) });
    expect(await burstOf(limiter, limitedApp)).toBe(2);
    const tenantTat = await inspect.get(`${prefix}limit:tenant:acme:requests`);
    const globalTat = await inspect.get(`${prefix}limit:global:requests`);
    const refusals = await Promise.all(
      Array.from({ length: 200 }, () => refusedBy(limiter.checkRequest('acme', limitedApp))),
    );
    expect(new Set(refusals.map((refusal) => refusal.level))).toEqual(new Set(['app']));
    expect(await inspect.get(`${prefix}limit:tenant:acme:requests`)).toBe(tenantTat);
    expect(await inspect.get(`${prefix}limit:global:requests`)).toBe(globalTat);
    expect(await burstOf(limiter, blog)).toBe(98);
  });

  it('Retry-After on the server clock: a retry before it is refused, one after it accepted', async () => {
    const { limiter } = await start({ levels: { app: { requests: rate(1, 1) } } });
    expect((await limiter.checkRequest('acme', shop)).allowed).toBe(true);
    const refusedAt = performance.now();
    const refusal = await refusedBy(limiter.checkRequest('acme', shop));
    expect(refusal.retryAfterSeconds).toBe(1);
    expect(refusal.message).toBe(
      'app shop is over its limit of 1 requests/s (burst 1); retry after 1 s',
    );
    await sleep(400);
    expect((await limiter.checkRequest('acme', shop)).allowed).toBe(false);
    await sleep(refusal.retryAfterSeconds * 1000 - (performance.now() - refusedAt) + 5);
    expect((await limiter.checkRequest('acme', shop)).allowed).toBe(true);
  });

  it('two replicas sharing one Redis hold the limit together', async () => {
    const clock = manualClock();
    const levels = { tenant: { requests: rate(10, 10) } };
    const prefix = uniquePrefix();
    // Two replicas configured: while Redis answers, each counts against the whole shared limit.
    const a = await start({ levels, clock: clock.now, prefix, replicas: 2 });
    const b = await start({ levels, clock: clock.now, prefix, replicas: 2 });
    let passed = 0;
    for (let i = 0; i < 40; i++) {
      const replica = i % 2 === 0 ? a.limiter : b.limiter;
      if ((await replica.checkRequest('acme', shop)).allowed) passed++;
    }
    expect(passed).toBe(10);
    let steadyPassed = 0;
    for (let t = 0; t < 2000; t += 10) {
      clock.advance(10);
      const answers = await Promise.all([
        a.limiter.checkRequest('acme', shop),
        b.limiter.checkRequest('acme', blog),
      ]);
      steadyPassed += answers.filter((answer) => answer.allowed).length;
    }
    expect(steadyPassed).toBe(20);
  });

  it('a bucket key expires when the bucket is full again: idle tenants cost nothing', async () => {
    const { limiter, prefix } = await start({ levels: { tenant: { requests: rate(10, 20) } } });
    for (let i = 0; i < 5; i++) await limiter.checkRequest('acme', shop);
    const ttl = await inspect.pttl(`${prefix}limit:tenant:acme:requests`);
    // 5 requests at 100 ms each: full again in about 500 ms.
    expect(ttl).toBeGreaterThan(300);
    expect(ttl).toBeLessThanOrEqual(500);
    await sleep(ttl + 50);
    expect(await inspect.exists(`${prefix}limit:tenant:acme:requests`)).toBe(0);
  });
});

describe('payload limits in Redis', () => {
  it('debits a payload after the fact and refuses the next request, before its body, while in debt', async () => {
    const clock = manualClock();
    const { limiter, prefix } = await start({
      levels: {
        tenant: { items: rate(10, 100), kinds: { exception: rate(1, 2) } },
        app: { bytes: rate(1000, 10_000) },
      },
      clock: clock.now,
    });
    // Stage 1 is the request's one round trip: payload buckets are only checked there.
    expect((await inRedis(limiter.checkRequest('acme', shop))).allowed).toBe(true);
    // Stage 2 does not wait for Redis: the payload is debited, pipelined, and let through.
    const first = limiter.checkPayload('acme', shop, usage({ exception: 2, log: 8 }));
    expect(first).not.toBeInstanceOf(Promise);
    expect((first as { allowed: boolean }).allowed).toBe(true);
    // Within its burst of 2 exceptions: the next request passes; its payload overdraws.
    expect((await inRedis(limiter.checkRequest('acme', shop))).allowed).toBe(true);
    expect(
      (limiter.checkPayload('acme', shop, usage({ exception: 1, log: 1 })) as { allowed: boolean })
        .allowed,
    ).toBe(true);
    // 3 exceptions against a burst of 2 at 1/s: refused for 1 s, from the headers alone.
    const refusal = await refusedBy(inRedis(limiter.checkRequest('acme', shop)));
    expect(refusal).toMatchObject({
      level: 'tenant',
      limit: 'kinds.exception',
      retryAfterSeconds: 1,
    });
    expect(refusal.message).toContain('tenant acme is over its limit of 1 exceptions/s (burst 2)');
    // The refusal took nothing: the debt is what the two payloads left.
    expect(Number(await inspect.get(`${prefix}limit:tenant:acme:kinds.exception`))).toBe(
      clock.now() + 3000,
    );
    // The whole tenant is in debt, not only this app.
    expect((await inRedis(limiter.checkRequest('acme', blog))).allowed).toBe(false);
    clock.advance(1000);
    expect((await inRedis(limiter.checkRequest('acme', shop))).allowed).toBe(true);
    // A bytes overdraft of the app refuses that app only.
    expect(
      (limiter.checkPayload('acme', shop, usage({ log: 1 }, 25_000)) as { allowed: boolean })
        .allowed,
    ).toBe(true);
    expect(await refusedBy(inRedis(limiter.checkRequest('acme', shop)))).toMatchObject({
      level: 'app',
      limit: 'bytes',
    });
    expect((await inRedis(limiter.checkRequest('acme', blog))).allowed).toBe(true);
  });

  it('skips the round trip when no payload limit applies', async () => {
    const { limiter } = await start({ levels: { tenant: { requests: rate(10, 10) } } });
    const decision = limiter.checkPayload('acme', shop, usage({ log: 3 }));
    expect(decision).not.toBeInstanceOf(Promise);
  });
});

describe('the Lua script and the memory buckets', () => {
  it('make the same decisions on the same sequence', async () => {
    const clock = manualClock();
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const redis = new RedisBuckets({
      url: SHARED_REDIS_URL,
      commandTimeoutMs: 1000,
      clock: clock.now,
    });
    const memory = new MemoryBuckets(clock.now);
    try {
      await once(redis.client, 'ready');
      await redis.loadScript();
      const spec = (name: string, perSecond: number, burst: number): BucketSpec => ({
        key: `${prefix}${name}`,
        level: 'tenant',
        subject: name,
        limit: 'items',
        rate: { perSecond, burst },
      });
      const specs = [spec('a', 7, 3), spec('b', 0.5, 10), spec('c', 1000, 64), spec('d', 33.3, 1)];
      // A fixed pseudo-random walk: costs 0..12 on a random subset, time steps 0..400 ms.
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      let refusals = 0;
      for (let step = 0; step < 400; step++) {
        clock.advance(Math.floor(random() * 400));
        const chosen = specs.filter(() => random() < 0.6);
        const costs = chosen.map(() => 1 + Math.floor(random() * 12));
        const set = chargeSet(chosen, costs, 1);
        const fromRedis = await redis.charge(set);
        const fromMemory = memory.charge(set);
        expect(fromRedis.allowed, `step ${step}`).toBe(fromMemory.allowed);
        if (!fromRedis.allowed && !fromMemory.allowed) {
          refusals++;
          expect(fromRedis.index, `step ${step}`).toBe(fromMemory.index);
          expect(retryAfterSeconds(fromRedis.waitMs)).toBe(retryAfterSeconds(fromMemory.waitMs));
        }
      }
      // The walk must exercise both answers to mean anything.
      expect(refusals).toBeGreaterThan(40);
      expect(refusals).toBeLessThan(360);
    } finally {
      await redis.close();
    }
  });
});
