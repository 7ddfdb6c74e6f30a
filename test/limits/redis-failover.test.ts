import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Limiter } from '../../src/admission/limits/index.js';
import { GCRA_SCRIPT_SHA } from '../../src/admission/limits/redis-buckets.js';
import {
  capturedLogger,
  makeApp,
  manualClock,
  metricValue,
} from '../../src/admission/limits/testing/fixtures.js';
import { burstOf, inRedis, rate, redisLimiter } from './support.js';
import { OwnRedisServer, uniquePrefix } from './redis-server.js';

/*
 * Redis going away and coming back, on a redis-server of this file's own (killed, stalled with
 * SIGSTOP, restarted). The limiter runs as in production: 75 ms command deadline, probing
 * every 100 ms here (1 s by default).
 */

const shop = makeApp('shop', 'acme');
const REPLICAS = 2;
const levels = { tenant: { requests: rate(10, 10) } };

let server: OwnRedisServer;
const limiters: Limiter[] = [];

beforeAll(async () => {
  server = await OwnRedisServer.start();
});
afterEach(async () => {
  await Promise.all(limiters.splice(0).map((limiter) => limiter.close()));
});
afterAll(async () => {
  await server.kill();
});

function start(clock = manualClock()) {
  const log = capturedLogger();
  const made = redisLimiter({
    url: server.url,
    prefix: uniquePrefix(),
    levels,
    replicas: REPLICAS,
    clock: clock.now,
    logger: log.logger,
    commandTimeoutMs: 75,
    probeIntervalMs: 100,
  });
  limiters.push(made.limiter);
  return { ...made, clock, log };
}

/** Times one decision (ms). */
async function timed(limiter: Limiter): Promise<{ allowed: boolean; ms: number }> {
  const started = performance.now();
  const decision = await limiter.checkRequest('acme', shop);
  return { allowed: decision.allowed, ms: performance.now() - started };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(10);
  }
  return performance.now() - started;
}

describe('Redis failover', () => {
  it('Redis killed: decisions go on at once on local buckets at 1/replicas; back to shared limits when it returns', async () => {
    const { limiter, registry, clock, log } = start();
    expect(await limiter.ready(3000)).toBe(true);
    expect(await burstOf(limiter, shop)).toBe(10); // the whole shared burst

    await server.kill();
    // The gauge tells the truth without waiting for traffic: the closed connection is enough.
    await waitFor(() => limiter.backend() === 'local', 500);
    clock.advance(60_000); // every bucket full again
    const first = await timed(limiter);
    expect(first.allowed).toBe(true);
    expect(first.ms).toBeLessThan(150); // at most one command deadline, never a reconnect wait
    expect(limiter.backend()).toBe('local');
    // Later decisions do not touch Redis at all: synchronous answers.
    expect(limiter.checkRequest('acme', shop)).not.toBeInstanceOf(Promise);
    // This replica's share of the burst: 10 / 2, one of which each check above took.
    expect(await burstOf(limiter, shop)).toBe(10 / REPLICAS - 2);
    const refusal = await limiter.checkRequest('acme', shop);
    expect(refusal.allowed || refusal.message).toContain(
      'while Redis is unreachable, each of 2 replicas enforces 1/2 of it',
    );

    expect(await metricValue(registry, 'pharos_limiter_backend', { backend: 'local' })).toBe(1);
    expect(await metricValue(registry, 'pharos_limiter_backend', { backend: 'redis' })).toBe(0);
    expect(await metricValue(registry, 'pharos_limiter_fallbacks_total')).toBe(1);
    const warnings = log.warnings();
    expect(warnings).toHaveLength(1); // once per transition, not per request
    expect(warnings[0]!.msg).toContain('each limit divided by 2 replicas');

    await server.restart();
    const backAfter = await waitFor(() => limiter.backend() === 'redis', 3000);
    expect(backAfter).toBeLessThan(2500);
    expect(log.lines.some((line) => /Redis answers again/.test(line.msg))).toBe(true);
    expect(await metricValue(registry, 'pharos_limiter_backend', { backend: 'redis' })).toBe(1);
    // A fresh Redis: the whole shared burst again, counted in Redis.
    const decision = limiter.checkRequest('acme', shop);
    expect(decision).toBeInstanceOf(Promise);
    expect((await decision).allowed).toBe(true);
    expect(await burstOf(limiter, shop)).toBe(9);
    expect(log.warnings()).toHaveLength(1);
  });

  it('Redis stalled (SIGSTOP): a decision waits one command deadline, then local; resumes after SIGCONT', async () => {
    const { limiter, registry } = start();
    expect(await limiter.ready(3000)).toBe(true);
    server.pause();
    try {
      // Requests in flight together all time out together, then the local buckets decide.
      const answers = await Promise.all([1, 2, 3].map(() => timed(limiter)));
      for (const answer of answers) {
        expect(answer.allowed).toBe(true);
        expect(answer.ms).toBeGreaterThanOrEqual(70);
        expect(answer.ms).toBeLessThan(300);
      }
      expect(limiter.backend()).toBe('local');
      const after = await timed(limiter);
      expect(after.ms).toBeLessThan(5);
      expect(
        await metricValue(registry, 'pharos_limiter_fallbacks_total', { reason: 'timeout' }),
      ).toBe(1);
      // The probe keeps failing (timing out) while Redis is stopped.
      await sleep(400);
      expect(limiter.backend()).toBe('local');
    } finally {
      server.resume();
    }
    await waitFor(() => limiter.backend() === 'redis', 3000);
  });

  it('recovers from NOSCRIPT after SCRIPT FLUSH without leaving Redis', async () => {
    const { limiter, registry, clock } = start();
    expect(await limiter.ready(3000)).toBe(true);
    const admin = new Redis(server.url);
    try {
      for (let i = 0; i < 4; i++)
        expect((await limiter.checkRequest('acme', shop)).allowed).toBe(true);
      expect(await admin.script('FLUSH')).toBe('OK');
      expect(await admin.script('EXISTS', GCRA_SCRIPT_SHA)).toEqual([0]);
      // Concurrent decisions all meet NOSCRIPT; one SCRIPT LOAD serves them, state is kept.
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => inRedis(limiter.checkRequest('acme', shop))),
      );
      expect(answers.filter((answer) => answer.allowed)).toHaveLength(6);
      expect(await admin.script('EXISTS', GCRA_SCRIPT_SHA)).toEqual([1]);
      expect(limiter.backend()).toBe('redis');
      expect(await metricValue(registry, 'pharos_limiter_fallbacks_total')).toBeUndefined();
      clock.advance(1000);
      expect(await burstOf(limiter, shop)).toBe(10);
    } finally {
      admin.disconnect();
    }
  });

  it('Redis down at start: local decisions at once, shared ones as soon as it is up', async () => {
    await server.kill();
    try {
      const { limiter, log } = start();
      const started = performance.now();
      expect(await limiter.ready(300)).toBe(false);
      expect(limiter.checkRequest('acme', shop)).not.toBeInstanceOf(Promise);
      expect(performance.now() - started).toBeLessThan(400);
      expect(await burstOf(limiter, shop)).toBe(10 / REPLICAS - 1);
      await server.restart();
      await waitFor(() => limiter.backend() === 'redis', 3000);
      expect(log.lines.some((line) => /shared by every replica through Redis/.test(line.msg))).toBe(
        true,
      );
      // Not "back": it was never shared, so nothing was said about losing it either.
      expect(log.warnings()).toHaveLength(0);
    } finally {
      await server.restart().catch(() => {});
    }
  });
});
