import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createLimiter, type Limiter } from '../../src/admission/limits/index.js';
import { makeTenant, tenantDirectory } from '../../src/admission/limits/testing/fixtures.js';
import type { LimitDecision, LimitRefusal } from '../../src/admission/limits/types.js';
import type { App, Limits, RateLimit } from '../../src/registry/index.js';

export const rate = (perSecond: number, burst: number): RateLimit => ({ perSecond, burst });

const quiet = { info: () => {}, warn: () => {}, debug: () => {} } as unknown as Logger;

export interface RedisLimiterSetup {
  url: string;
  prefix: string;
  levels: { global?: Limits; tenant?: Limits; app?: Limits };
  replicas?: number;
  clock?: () => number;
  logger?: Logger;
  commandTimeoutMs?: number;
  probeIntervalMs?: number;
}

export function redisLimiter(setup: RedisLimiterSetup): { limiter: Limiter; registry: Registry } {
  const registry = new Registry();
  const tenants = tenantDirectory(makeTenant('acme'), makeTenant('globex'));
  const limiter = createLimiter({
    limits: {
      replicas: setup.replicas ?? 1,
      global: setup.levels.global ?? {},
      tenant: setup.levels.tenant ?? {},
      app: setup.levels.app ?? {},
    },
    redis: {
      url: setup.url,
      keyPrefix: setup.prefix,
      // Generous by default: this machine runs other suites too, and a fallback in the middle of
      // a test that counts exactly would change its counts. Failover tests set 75 ms.
      commandTimeoutMs: setup.commandTimeoutMs ?? 2000,
      probeIntervalMs: setup.probeIntervalMs ?? 100,
    },
    tenantOf: tenants.tenantOf,
    metricsRegistry: registry,
    logger: setup.logger ?? quiet,
    ...(setup.clock ? { clock: setup.clock } : {}),
  });
  return { limiter, registry };
}

/** Requests at one instant until the first refusal: how many passed (awaiting each answer). */
export async function burstOf(limiter: Limiter, app: App, max = 10_000): Promise<number> {
  for (let passed = 0; passed < max; passed++) {
    if (!(await limiter.checkRequest(app.tenantId, app)).allowed) return passed;
  }
  return max;
}

export async function refusedBy(
  decision: LimitDecision | Promise<LimitDecision>,
): Promise<LimitRefusal> {
  const settled = await decision;
  if (settled.allowed) throw new Error('expected a refusal, got allowed');
  return settled;
}

/** A decision made in Redis: the answer must be a promise (a local one would be a value). */
export function inRedis(decision: LimitDecision | Promise<LimitDecision>): Promise<LimitDecision> {
  if (!(decision instanceof Promise)) throw new Error('expected a decision made in Redis');
  return decision;
}

/** Deletes the keys under `prefix` (SCAN, never FLUSH: the Redis may be shared). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
