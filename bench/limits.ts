/**
 * Cost of one rate-limit decision, per backend and stage: the memory buckets (no Redis, or Redis
 * unreachable) and Redis (the machine's, `PHAROS_BENCH_REDIS_URL`, default redis://127.0.0.1:6379,
 * under a throwaway key prefix deleted afterwards).
 *
 *   npx tsx bench/limits.ts
 *
 * Stage 1 charges three `requests` buckets (global, tenant, app); stage 2 four payload buckets
 * (tenant items and bytes, two per-kind limits). With Redis, stage 1 also checks the payload
 * buckets in its one round trip and stage 2 debits them without waiting, so the Redis rows of
 * stage 2 time whole requests (stage 1, then stage 2). Limits are high enough that every decision is
 * allowed (the common case), plus one row of refusals. For each case: CPU µs of this process per
 * decision (what the ingest budget pays) and wall µs per decision; for Redis, one decision at a
 * time (latency) and 64 in flight (auto-pipelined, as under load). Median of interleaved rounds.
 *
 * Accuracy: on real clocks (the Redis server's for Redis), one tenant limited to 200/s with a burst
 * of 50 is offered about 4 times that for 3 s, 8 requests in flight; allowed requests are compared
 * with burst + rate × elapsed.
 *
 * Prints tables and writes bench/results/limits-<date>.json. Timings vary by machine; nothing
 * asserts them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { ALLOWED, createLimiter, type Limiter } from '../src/admission/limits/index.js';
import {
  makeApp,
  makeTenant,
  tenantDirectory,
  usage,
} from '../src/admission/limits/testing/fixtures.js';
import type { App, Limits } from '../src/registry/index.js';
import { deleteKeys } from '../test/limits/support.js';

const REDIS_URL = process.env.PHAROS_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = 5;
const SAMPLE_MS = 400;
const IN_FLIGHT = 64;

const open = { perSecond: 1e9, burst: 1e9 };
const limits: { global: Limits; tenant: Limits; app: Limits } = {
  global: { requests: open },
  tenant: { requests: open, items: open, bytes: open, kinds: { exception: open, log: open } },
  app: { requests: open },
};

// 10 tenants × 10 apps, visited round robin: realistic map sizes, no single hot key.
const tenants = Array.from({ length: 10 }, (_, t) => makeTenant(`tenant-${t}`));
const apps: App[] = tenants.flatMap((tenant) =>
  Array.from({ length: 10 }, (_, a) => makeApp(`${tenant.id}-app-${a}`, tenant.id)),
);
const directory = tenantDirectory(...tenants);
const batch = usage({ log: 12, exception: 1, event: 4 }, 6_000);
/** Warnings of the limiters: a fallback to local buckets in the middle would void the Redis rows. */
const warnings: string[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });

function limiterFor(redis: boolean, levels = limits): Limiter {
  return createLimiter({
    limits: { replicas: 1, ...levels },
    redis: redis ? { url: REDIS_URL, keyPrefix: BENCH_PREFIX, commandTimeoutMs: 1000 } : undefined,
    tenantOf: directory.tenantOf,
    logger,
  });
}
const BENCH_PREFIX = `pharos-bench:${process.pid}:`;
const BASELINE_KEY = `${BENCH_PREFIX}baseline`;

type Decide = (app: App) => ReturnType<Limiter['checkRequest']>;

interface Sample {
  cpuMicros: number;
  wallMicros: number;
}

/** Decisions one after another for SAMPLE_MS, awaiting only when the answer is a promise. */
async function sequential(decide: Decide): Promise<Sample> {
  let n = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < SAMPLE_MS) {
    for (let i = 0; i < 64; i++) {
      const answer = decide(apps[n++ % apps.length]!);
      if (answer instanceof Promise) await answer;
    }
  }
  return perDecision(n, cpu, started);
}

/** IN_FLIGHT decisions at a time for SAMPLE_MS (auto-pipelined into shared round trips). */
async function concurrent(decide: Decide): Promise<Sample> {
  let n = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < SAMPLE_MS) {
    const wave: Promise<unknown>[] = [];
    for (let i = 0; i < IN_FLIGHT; i++)
      wave.push(Promise.resolve(decide(apps[n++ % apps.length]!)));
    await Promise.all(wave);
  }
  return perDecision(n, cpu, started);
}

function perDecision(n: number, cpu: NodeJS.CpuUsage, started: number): Sample {
  const used = process.cpuUsage(cpu);
  return {
    cpuMicros: (used.user + used.system) / n,
    wallMicros: ((performance.now() - started) * 1000) / n,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

interface Case {
  name: string;
  backend: 'memory' | 'redis';
  stage: 1 | 2;
  mode: 'sequential' | 'concurrent';
  run: () => Promise<Sample>;
}

async function main(): Promise<void> {
  const memory = limiterFor(false);
  const refusing = limiterFor(false, {
    global: {},
    tenant: { requests: { perSecond: 1, burst: 1 } },
    app: {},
  });
  const redis = limiterFor(true);
  if (!(await redis.ready(3000))) throw new Error(`Redis at ${REDIS_URL} did not answer`);
  const baseline = new Redis(REDIS_URL, { enableAutoPipelining: true });

  const stage1 =
    (limiter: Limiter): Decide =>
    (app) =>
      limiter.checkRequest(app.tenantId, app);
  const stage2 =
    (limiter: Limiter): Decide =>
    (app) =>
      limiter.checkPayload(app.tenantId, app, batch);
  // With Redis a payload is debited without waiting, so its cost shows only within a request:
  // stage 1's round trip, then stage 2's debit, pipelined with the next round trip. Alone in a
  // loop, debits would pile up unanswered.
  const wholeRequest =
    (limiter: Limiter): Decide =>
    (app) =>
      Promise.resolve(limiter.checkRequest(app.tenantId, app)).then(() =>
        limiter.checkPayload(app.tenantId, app, batch),
      );

  const cases: Case[] = [
    {
      name: 'memory, stage 1 (3 buckets)',
      backend: 'memory',
      stage: 1,
      mode: 'sequential',
      run: () => sequential(stage1(memory)),
    },
    {
      name: 'memory, stage 2 (4 buckets)',
      backend: 'memory',
      stage: 2,
      mode: 'sequential',
      run: () => sequential(stage2(memory)),
    },
    {
      name: 'memory, stage 1, refused',
      backend: 'memory',
      stage: 1,
      mode: 'sequential',
      run: () => sequential(stage1(refusing)),
    },
    {
      name: 'redis, stage 1, one at a time',
      backend: 'redis',
      stage: 1,
      mode: 'sequential',
      run: () => sequential(stage1(redis)),
    },
    {
      name: 'redis, request (stage 1 + stage 2), one at a time',
      backend: 'redis',
      stage: 2,
      mode: 'sequential',
      run: () => sequential(wholeRequest(redis)),
    },
    {
      name: `redis, stage 1, ${IN_FLIGHT} in flight`,
      backend: 'redis',
      stage: 1,
      mode: 'concurrent',
      run: () => concurrent(stage1(redis)),
    },
    {
      name: `redis, request (stage 1 + stage 2), ${IN_FLIGHT} in flight`,
      backend: 'redis',
      stage: 2,
      mode: 'concurrent',
      run: () => concurrent(wholeRequest(redis)),
    },
    // What ioredis itself costs for the simplest auto-pipelined command: the floor under the rows above.
    {
      name: `baseline: ioredis GET, ${IN_FLIGHT} in flight`,
      backend: 'redis',
      stage: 1,
      mode: 'concurrent',
      run: () => concurrent(() => baseline.get(BASELINE_KEY).then(() => ALLOWED)),
    },
  ];

  // Warm up (JIT, connection, script), then interleaved rounds.
  for (const benchCase of cases) await benchCase.run();
  const samples = new Map<Case, Sample[]>(cases.map((benchCase) => [benchCase, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const benchCase of cases) samples.get(benchCase)!.push(await benchCase.run());
  }
  if (redis.backend() !== 'redis' || warnings.length > 0)
    throw new Error(`the Redis limiter fell back during the run: ${warnings.join('')}`);

  const rows = cases.map((benchCase) => {
    const runs = samples.get(benchCase)!;
    return {
      case: benchCase.name,
      backend: benchCase.backend,
      stage: benchCase.stage,
      mode: benchCase.mode,
      cpuMicrosPerDecision: round2(median(runs.map((run) => run.cpuMicros))),
      wallMicrosPerDecision: round2(median(runs.map((run) => run.wallMicros))),
    };
  });
  const accuracyRows = [await accuracy(false), await accuracy(true)];
  console.table(accuracyRows);
  console.table(
    rows.map((row) => ({
      case: row.case,
      'CPU µs/decision': row.cpuMicrosPerDecision,
      'wall µs/decision': row.wallMicrosPerDecision,
    })),
  );

  const date = new Date().toISOString();
  const result = {
    date,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg: loadavg().map(round2),
    redis: REDIS_URL,
    roundsMedianOf: ROUNDS,
    sampleMs: SAMPLE_MS,
    inFlight: IN_FLIGHT,
    rows,
    accuracy: { limit: ACCURACY, rows: accuracyRows },
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/limits-${date.slice(0, 10)}.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${file.pathname}`);

  await Promise.all([memory.close(), refusing.close(), redis.close()]);
  baseline.disconnect();
  await deleteKeys(REDIS_URL, BENCH_PREFIX);
}

const ACCURACY = { perSecond: 200, burst: 50, seconds: 3, inFlight: 8, offeredPerSecond: 800 };

/** Offers about 4× the limit for a few seconds; returns allowed against expected. */
async function accuracy(redis: boolean) {
  const limiter = limiterFor(redis, {
    global: {},
    tenant: { requests: { perSecond: ACCURACY.perSecond, burst: ACCURACY.burst } },
    app: {},
  });
  if (redis && !(await limiter.ready(3000))) throw new Error('Redis did not answer');
  const app = apps[0]!;
  let allowed = 0;
  let offered = 0;
  const waveMs = (1000 * ACCURACY.inFlight) / ACCURACY.offeredPerSecond;
  const started = performance.now();
  while (performance.now() - started < ACCURACY.seconds * 1000) {
    const wave: Promise<{ allowed: boolean }>[] = [];
    for (let i = 0; i < ACCURACY.inFlight; i++)
      wave.push(Promise.resolve(limiter.checkRequest(app.tenantId, app)));
    offered += ACCURACY.inFlight;
    allowed += (await Promise.all(wave)).filter((answer) => answer.allowed).length;
    await new Promise((resolve) => setTimeout(resolve, waveMs));
  }
  const elapsed = (performance.now() - started) / 1000;
  await limiter.close();
  const expected = ACCURACY.burst + ACCURACY.perSecond * elapsed;
  return {
    backend: redis ? 'redis' : 'memory',
    seconds: round2(elapsed),
    offered,
    allowed,
    expected: Math.round(expected),
    errorPercent: round2((100 * (allowed - expected)) / expected),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

await main();
