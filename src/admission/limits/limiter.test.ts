import { describe, expect, it } from 'vitest';
import type { Limits, RateLimit } from '../../registry/index.js';
import { createLimiter, type Limiter } from './limiter.js';
import { LimiterMetrics } from './metrics.js';
import { effectiveLimits, LimitPlanner } from './plan.js';
import {
  Registry,
  makeApp,
  makeTenant,
  manualClock,
  metricValue,
  tenantDirectory,
  usage,
} from './testing/fixtures.js';
import type { LimitDecision, LimitRefusal } from './types.js';

const rate = (perSecond: number, burst: number): RateLimit => ({ perSecond, burst });

function memoryLimiter(
  levels: { global?: Limits; tenant?: Limits; app?: Limits; replicas?: number },
  tenants = tenantDirectory(makeTenant('acme'), makeTenant('globex')),
) {
  const clock = manualClock();
  const registry = new Registry();
  const limiter = createLimiter({
    limits: {
      replicas: levels.replicas ?? 1,
      global: levels.global ?? {},
      tenant: levels.tenant ?? {},
      app: levels.app ?? {},
    },
    tenantOf: tenants.tenantOf,
    metricsRegistry: registry,
    logger: { info: () => {}, warn: () => {}, debug: () => {} } as never,
    clock: clock.now,
  });
  return { limiter, clock, registry, tenants };
}

/** The memory limiter must answer synchronously: the hot path never awaits it. */
function sync(decision: LimitDecision | Promise<LimitDecision>): LimitDecision {
  expect(decision).not.toBeInstanceOf(Promise);
  return decision as LimitDecision;
}

function refused(decision: LimitDecision | Promise<LimitDecision>): LimitRefusal {
  const settled = sync(decision);
  expect(settled.allowed).toBe(false);
  return settled as LimitRefusal;
}

const shop = makeApp('shop', 'acme');
const blog = makeApp('blog', 'acme');
const portal = makeApp('portal', 'globex');

/** Requests at one instant until the first refusal: how many passed. */
function burstOf(limiter: Limiter, app = shop, max = 10_000): number {
  for (let passed = 0; passed < max; passed++) {
    if (!sync(limiter.checkRequest(app.tenantId, app)).allowed) return passed;
  }
  return max;
}

/** One request every `stepMs` for `durationMs`: how many passed. */
function steady(
  limiter: Limiter,
  clock: { advance(ms: number): void },
  durationMs: number,
  stepMs: number,
  app = shop,
): number {
  let passed = 0;
  for (let t = stepMs; t <= durationMs; t += stepMs) {
    clock.advance(stepMs);
    if (sync(limiter.checkRequest(app.tenantId, app)).allowed) passed++;
  }
  return passed;
}

describe('request limits in memory', () => {
  it.each([
    ['global', { global: { requests: rate(10, 5) } }],
    ['tenant', { tenant: { requests: rate(10, 5) } }],
    ['app', { app: { requests: rate(10, 5) } }],
  ] as const)('%s: a burst, then the steady rate', (_level, levels) => {
    const { limiter, clock } = memoryLimiter(levels);
    expect(burstOf(limiter)).toBe(5);
    // Offered 100/s for 3 s against 10/s: exactly one every 100 ms passes.
    expect(steady(limiter, clock, 3000, 10)).toBe(30);
    // Idle for a while refills the burst, never more.
    clock.advance(60_000);
    expect(burstOf(limiter)).toBe(5);
  });

  it('keeps each tenant and each app in its own bucket, and the global one shared', () => {
    const { limiter } = memoryLimiter({
      global: { requests: rate(100, 8) },
      tenant: { requests: rate(10, 5) },
      app: { requests: rate(10, 3) },
    });
    expect(burstOf(limiter, shop)).toBe(3); // app shop's burst
    expect(burstOf(limiter, blog)).toBe(2); // what is left of tenant acme's 5
    expect(burstOf(limiter, portal)).toBe(3); // globex: its own app burst, global has 3 left
    const global = refused(limiter.checkRequest('globex', makeApp('other', 'globex')));
    expect(global.level).toBe('global');
  });

  it('a request refused by the app bucket takes nothing from the tenant or global buckets', () => {
    const { limiter } = memoryLimiter({
      global: { requests: rate(100, 100) },
      tenant: { requests: rate(100, 100) },
      app: {},
    });
    const limitedApp = makeApp('limited', 'acme', { requests: rate(1, 2) });
    expect(burstOf(limiter, limitedApp)).toBe(2);
    for (let i = 0; i < 500; i++) {
      expect(refused(limiter.checkRequest('acme', limitedApp)).level).toBe('app');
    }
    // Had the 500 refusals taken tokens, the tenant (and global) bucket would be empty.
    expect(burstOf(limiter, blog)).toBe(98);
  });

  it('says which level and limit refused, and when to come back', () => {
    const { limiter } = memoryLimiter({ tenant: { requests: rate(100, 200) } });
    burstOf(limiter);
    const refusal = refused(limiter.checkRequest('acme', shop));
    expect(refusal).toMatchObject({
      level: 'tenant',
      subject: 'acme',
      limit: 'requests',
      rate: { perSecond: 100, burst: 200 },
      retryAfterSeconds: 1,
    });
    expect(refusal.message).toBe(
      'tenant acme is over its limit of 100 requests/s (burst 200); retry after 1 s',
    );
  });

  it.each([
    // perSecond, burst, Retry-After, exact wait (ms)
    [1, 1, 1, 1000],
    [4, 1, 1, 250],
    [0.2, 1, 5, 5000],
    [0.4, 3, 3, 2500],
  ])(
    '%s/s burst %s: Retry-After %s s; a retry before the wait is refused, after Retry-After accepted',
    (perSecond, burst, retryAfter, waitMs) => {
      const { limiter, clock } = memoryLimiter({ app: { requests: rate(perSecond, burst) } });
      expect(burstOf(limiter)).toBe(burst);
      expect(refused(limiter.checkRequest('acme', shop)).retryAfterSeconds).toBe(retryAfter);
      clock.advance(waitMs - 1);
      expect(sync(limiter.checkRequest('acme', shop)).allowed).toBe(false);
      clock.advance(retryAfter * 1000 - waitMs + 1);
      expect(sync(limiter.checkRequest('acme', shop)).allowed).toBe(true);
    },
  );

  it('applies new limits as soon as the registry has new objects', () => {
    const { limiter, clock, tenants } = memoryLimiter({ tenant: { requests: rate(1, 2) } });
    expect(burstOf(limiter)).toBe(2);
    tenants.set(makeTenant('acme', { requests: rate(1, 10) }));
    expect(burstOf(limiter)).toBe(8); // same bucket (same key), a larger tolerance
    clock.advance(60_000);
    const reloaded = makeApp('shop', 'acme', { requests: rate(1, 1) });
    expect(burstOf(limiter, reloaded)).toBe(1);
    expect(refused(limiter.checkRequest('acme', reloaded)).level).toBe('app');
  });

  it('with no limit anywhere, allows everything and stores nothing', () => {
    const { limiter, registry } = memoryLimiter({});
    expect(burstOf(limiter, shop, 1000)).toBe(1000);
    return expect(
      metricValue(registry, 'pharos_limiter_decisions_total', { decision: 'allowed' }),
    ).resolves.toBeUndefined();
  });

  it('without Redis, a replica keeps to its share of limits.replicas', () => {
    const { limiter, clock } = memoryLimiter({ replicas: 4, tenant: { requests: rate(40, 20) } });
    expect(burstOf(limiter)).toBe(5);
    expect(steady(limiter, clock, 2000, 10)).toBe(20); // 10/s
    expect(refused(limiter.checkRequest('acme', shop)).message).toContain(
      'without Redis, each of 4 replicas enforces 1/4 of it',
    );
  });

  it('counts decisions by tenant, level, limit and decision, and reports the local backend', async () => {
    const { limiter, registry } = memoryLimiter({ app: { requests: rate(1, 3) } });
    burstOf(limiter);
    refused(limiter.checkRequest('acme', shop));
    const count = (labels: Record<string, string>) =>
      metricValue(registry, 'pharos_limiter_decisions_total', { tenant: 'acme', ...labels });
    expect(await count({ level: 'all', limit: 'requests', decision: 'allowed' })).toBe(3);
    expect(await count({ level: 'app', limit: 'requests', decision: 'refused' })).toBe(2);
    // Counted once: the cells are emptied into the counter at each scrape.
    expect(await count({ level: 'all', limit: 'requests', decision: 'allowed' })).toBe(3);
    expect(await metricValue(registry, 'pharos_limiter_backend', { backend: 'local' })).toBe(1);
  });
});

describe('payload limits in memory', () => {
  it('items per second per tenant: a batch that does not fit is refused whole and costs nothing', () => {
    const { limiter, clock } = memoryLimiter({ tenant: { items: rate(100, 100) } });
    expect(sync(limiter.checkPayload('acme', shop, usage({ log: 60 }))).allowed).toBe(true);
    const refusal = refused(limiter.checkPayload('acme', shop, usage({ log: 50 })));
    expect(refusal).toMatchObject({ level: 'tenant', limit: 'items', cost: 50 });
    expect(refusal.retryAfterSeconds).toBe(1); // 10 items short at 100/s: 100 ms
    expect(sync(limiter.checkPayload('acme', shop, usage({ log: 40 }))).allowed).toBe(true);
    clock.advance(500);
    expect(sync(limiter.checkPayload('acme', shop, usage({ event: 50 }))).allowed).toBe(true);
    expect(sync(limiter.checkPayload('acme', shop, usage({ event: 1 }))).allowed).toBe(false);
  });

  it('decoded bytes per second, named in bytes', () => {
    const { limiter } = memoryLimiter({ tenant: { bytes: rate(10_000, 20_000) } });
    expect(sync(limiter.checkPayload('acme', shop, usage({ log: 1 }, 15_000))).allowed).toBe(true);
    const refusal = refused(limiter.checkPayload('acme', shop, usage({ log: 1 }, 10_000)));
    expect(refusal.limit).toBe('bytes');
    const mebibytes = memoryLimiter({ tenant: { bytes: rate(1024 * 1024, 2 * 1024 * 1024) } });
    sync(mebibytes.limiter.checkPayload('acme', shop, usage({ log: 1 }, 3 * 1024 * 1024)));
    expect(
      refused(mebibytes.limiter.checkPayload('acme', shop, usage({ log: 1 }, 1024))).message,
    ).toBe('tenant acme is over its limit of 1 MiB/s (burst 2 MiB); retry after 2 s');
    expect(refusal.message).toContain('over its limit of 10000 B/s (burst 20000 B)');
  });

  it('items of one kind: only batches carrying that kind are held back', () => {
    const { limiter } = memoryLimiter({
      tenant: { kinds: { exception: rate(1, 2) } },
    });
    const allowed = (kinds: Parameters<typeof usage>[0]) =>
      sync(limiter.checkPayload('acme', shop, usage(kinds))).allowed;
    expect(allowed({ exception: 2, log: 30 })).toBe(true);
    const refusal = refused(limiter.checkPayload('acme', shop, usage({ exception: 1, log: 1 })));
    expect(refusal).toMatchObject({ level: 'tenant', limit: 'kinds.exception' });
    expect(refusal.message).toContain('tenant acme is over its limit of 1 exceptions/s (burst 2)');
    expect(allowed({ log: 500, measurement: 20 })).toBe(true);
    // Another tenant's exceptions are its own.
    expect(sync(limiter.checkPayload('globex', portal, usage({ exception: 2 }))).allowed).toBe(
      true,
    );
  });

  it('all or nothing across levels: refused by the app, the tenant and global buckets keep their tokens', () => {
    const { limiter } = memoryLimiter({
      global: { items: rate(1000, 100) },
      tenant: { items: rate(1000, 100) },
      app: {},
    });
    const small = makeApp('small', 'acme', { bytes: rate(1000, 1000) });
    const batch = usage({ log: 10 }, 500);
    expect(sync(limiter.checkPayload('acme', small, batch)).allowed).toBe(true);
    expect(sync(limiter.checkPayload('acme', small, batch)).allowed).toBe(true);
    for (let i = 0; i < 50; i++) {
      expect(refused(limiter.checkPayload('acme', small, batch)).level).toBe('app');
    }
    // 20 items taken by the two accepted batches, none by the 50 refused ones.
    expect(sync(limiter.checkPayload('acme', blog, usage({ log: 80 }))).allowed).toBe(true);
    expect(refused(limiter.checkPayload('acme', blog, usage({ log: 1 }))).level).toMatch(
      /tenant|global/,
    );
  });

  it('a batch larger than the burst passes when the bucket is full, and the debt is paid after', () => {
    const { limiter, clock } = memoryLimiter({ tenant: { items: rate(100, 100) } });
    expect(sync(limiter.checkPayload('acme', shop, usage({ log: 150 }))).allowed).toBe(true);
    const refusal = refused(limiter.checkPayload('acme', shop, usage({ log: 150 })));
    expect(refusal.retryAfterSeconds).toBe(2); // 1.5 s until the bucket is full again
    expect(refusal.message).toContain('this request alone is 150 items');
    clock.advance(1499);
    expect(sync(limiter.checkPayload('acme', shop, usage({ log: 1 }))).allowed).toBe(true);
  });

  it('does not count a payload decision when no payload limit applies', async () => {
    const { limiter, registry } = memoryLimiter({ tenant: { requests: rate(10, 10) } });
    expect(sync(limiter.checkPayload('acme', shop, usage({ log: 10_000 }))).allowed).toBe(true);
    expect(
      await metricValue(registry, 'pharos_limiter_decisions_total', { limit: 'payload' }),
    ).toBeUndefined();
  });
});

describe('LimitPlanner', () => {
  const defaults = {
    global: { requests: rate(100, 10) },
    tenant: { requests: rate(10, 5), items: rate(100, 100) },
    app: { requests: rate(10, 3) },
  };
  const planner = (tenants = tenantDirectory(makeTenant('acme'))) =>
    new LimitPlanner(defaults, 'pharos:', tenants.tenantOf, new LimiterMetrics(new Registry()));

  it("shares a tenant's bucket specs among the plans of its apps", () => {
    const plans = planner();
    const [shopPlan, blogPlan] = [plans.planFor('acme', shop), plans.planFor('acme', blog)];
    expect(shopPlan.requests.map((spec) => spec.key)).toEqual([
      'pharos:limit:global:requests',
      'pharos:limit:tenant:acme:requests',
      'pharos:limit:app:shop:requests',
    ]);
    expect(blogPlan.requests[1]).toBe(shopPlan.requests[1]);
    expect(blogPlan.payload[0]).toBe(shopPlan.payload[0]);
    expect(blogPlan.requests[2]?.key).toBe('pharos:limit:app:blog:requests');
  });

  it('builds new tenant specs once the registry has a new tenant object', () => {
    const tenants = tenantDirectory(makeTenant('acme'));
    const plans = planner(tenants);
    const before = plans.planFor('acme', shop);
    tenants.set(makeTenant('acme', { requests: rate(1, 1) }));
    const after = plans.planFor('acme', blog);
    expect(after.requests[1]).not.toBe(before.requests[1]);
    expect(after.requests[1]?.rate).toEqual(rate(1, 1));
  });

  it('gives the plans of apps with equal limits one charge-set shape, and each its own keys', () => {
    const plans = planner();
    const [shopPlan, blogPlan] = [plans.planFor('acme', shop), plans.planFor('acme', blog)];
    const [shopSet, blogSet] = [
      plans.requestChargeSet(shopPlan, 0.5),
      plans.requestChargeSet(blogPlan, 0.5),
    ];
    expect(blogSet.costs).toBe(shopSet.costs);
    expect(blogSet.increments).toBe(shopSet.increments);
    expect(blogSet.tolerances).toBe(shopSet.tolerances);
    expect(shopSet.keys).toEqual([
      'pharos:limit:global:requests',
      'pharos:limit:tenant:acme:requests',
      'pharos:limit:app:shop:requests',
    ]);
    expect(blogSet.keys[2]).toBe('pharos:limit:app:blog:requests');
    // Kept on the plan for its share; another share gets its own rates.
    expect(plans.requestChargeSet(shopPlan, 0.5)).toBe(shopSet);
    const whole = plans.requestChargeSet(shopPlan, 1);
    expect(whole.increments).not.toBe(shopSet.increments);
    expect(whole.increments).toEqual([10, 100, 100]);
    expect(whole.tolerances).toEqual([100, 500, 300]);
  });

  it('does not share the shape of apps whose own limits differ', () => {
    const plans = planner();
    const strict = makeApp('strict', 'acme', { requests: rate(1, 1) });
    const [shopSet, strictSet] = [
      plans.requestChargeSet(plans.planFor('acme', shop), 1),
      plans.requestChargeSet(plans.planFor('acme', strict), 1),
    ];
    expect(strictSet.increments).not.toBe(shopSet.increments);
    expect(strictSet.increments).toEqual([10, 100, 1000]);
  });

  it("gives a tenant's apps without limits of their own the tenant's lists and one charge set", () => {
    const plans = new LimitPlanner(
      { global: {}, tenant: { requests: rate(10, 5) }, app: {} },
      'pharos:',
      tenantDirectory(makeTenant('acme', { items: rate(100, 100) })).tenantOf,
      new LimiterMetrics(new Registry()),
    );
    const [shopPlan, blogPlan] = [plans.planFor('acme', shop), plans.planFor('acme', blog)];
    expect(blogPlan.requests).toBe(shopPlan.requests);
    expect(blogPlan.payload).toBe(shopPlan.payload);
    expect(blogPlan.payloadMeasures).toBe(shopPlan.payloadMeasures);
    expect(plans.requestChargeSet(blogPlan, 1)).toBe(plans.requestChargeSet(shopPlan, 1));
    expect(plans.redisStageOne(blogPlan)).toBe(plans.redisStageOne(shopPlan));
    expect(plans.redisStageOne(shopPlan).keys).toEqual([
      'pharos:limit:tenant:acme:requests',
      'pharos:limit:tenant:acme:items',
    ]);
    expect(plans.redisStageOne(shopPlan).costs).toEqual([1, 0]);
    // An app with a limit of its own has its own lists, and its own buckets in them.
    const own = plans.planFor('acme', makeApp('own', 'acme', { bytes: rate(1000, 1000) }));
    expect(own.requests).toBe(shopPlan.requests);
    expect(own.payload.map((spec) => spec.key)).toEqual([
      'pharos:limit:tenant:acme:items',
      'pharos:limit:app:own:bytes',
    ]);
    expect(shopPlan.payload.map((spec) => spec.key)).toEqual(['pharos:limit:tenant:acme:items']);
  });

  it("applies a tenant's new limits to the charge sets of its apps at once", () => {
    const tenants = tenantDirectory(makeTenant('acme'));
    const plans = planner(tenants);
    const before = plans.requestChargeSet(plans.planFor('acme', shop), 1);
    tenants.set(makeTenant('acme', { requests: rate(1, 1) }));
    const after = plans.requestChargeSet(plans.planFor('acme', shop), 1);
    expect(after).not.toBe(before);
    expect(after.keys).toEqual(before.keys);
    expect(after.increments).toEqual([10, 1000, 100]);
  });
});

describe('effectiveLimits', () => {
  it('replaces the defaults field by field, and kinds kind by kind', () => {
    const defaults: Limits = {
      requests: rate(1000, 2000),
      items: rate(50, 50),
      kinds: { log: rate(10, 10), span: rate(5, 5) },
    };
    expect(
      effectiveLimits(defaults, {
        items: rate(7, 7),
        kinds: { log: rate(1, 1), event: rate(2, 2) },
      }),
    ).toEqual({
      requests: rate(1000, 2000),
      items: rate(7, 7),
      kinds: { log: rate(1, 1), span: rate(5, 5), event: rate(2, 2) },
    });
    expect(effectiveLimits(defaults, {})).toEqual(defaults);
    expect(effectiveLimits({}, { bytes: rate(1, 1) })).toEqual({ bytes: rate(1, 1) });
  });
});
