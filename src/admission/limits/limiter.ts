import { Registry } from 'prom-client';
import { formatBytes } from '../../lib/units.js';
import type { App, Limits } from '../../registry/index.js';
import { RedisFailover, type LimiterLogger } from './failover.js';
import { MemoryBuckets, chargeSet, retryAfterSeconds } from './gcra.js';
import { LimiterMetrics, type DecisionCell, type LimiterBackend } from './metrics.js';
import { LimitPlanner, type TargetPlan, type TenantLimitsSource } from './plan.js';
import { RedisBuckets } from './redis-buckets.js';
import {
  ALLOWED,
  type BucketSpec,
  type ChargeOutcome,
  type ChargeSet,
  type LimitDecision,
  type LimitName,
  type LimitRefusal,
  type PayloadUsage,
} from './types.js';

export interface LimiterOptions {
  /** `config.limits`. */
  limits: { replicas: number; global: Limits; tenant: Limits; app: Limits };
  /** Redis shared by the replicas (`config.redis`); absent or empty url: buckets in memory. */
  redis?:
    | {
        url: string;
        keyPrefix: string;
        /** Deadline of one decision in Redis before it is made locally instead (default 250 ms). */
        commandTimeoutMs?: number;
        /** How often Redis is tried again while it is unreachable (default 1 s). */
        probeIntervalMs?: number;
      }
    | undefined;
  /** The registry cache's tenant lookup (`registry.cachedTenant`). */
  tenantOf: (tenantId: string) => TenantLimitsSource | undefined;
  /** Where the limiter registers its metrics (Pharos's own registry). */
  metricsRegistry?: Registry;
  logger: LimiterLogger;
  /**
   * The time, in ms. Local buckets always use it; with Redis it replaces the Redis server's clock
   * (tests). Default: `Date.now` locally, the Redis server's clock in Redis.
   */
  clock?: () => number;
}

/**
 * Request-rate limits (stage 1, from the headers, before the body is read) and payload limits
 * (stage 2, after parsing: items, decoded bytes, items of each kind), for the global level, the
 * tenant and the app. Each stage charges all its buckets together or none of them.
 *
 * Both checks answer synchronously when the buckets are in memory (no Redis configured, or Redis
 * unreachable), so the memory path never pays for a microtask. With Redis a request costs one
 * round trip: stage 1 answers with a promise, having charged the request buckets and checked that
 * no payload bucket is in debt past its burst; stage 2 answers at once and debits the payload
 * buckets without waiting. A payload limit is thus enforced from the next request on, before its
 * body is read (in memory, exactly, on the payload itself). A promise never rejects: a Redis
 * failure is answered by the local buckets.
 */
export interface Limiter {
  /** Stage 1: one request of this app. */
  checkRequest(tenantId: string, app: App): LimitDecision | Promise<LimitDecision>;
  /** Stage 2: the parsed payload of an admitted request. */
  checkPayload(
    tenantId: string,
    app: App,
    usage: PayloadUsage,
  ): LimitDecision | Promise<LimitDecision>;
  /** Where decisions are made now. */
  backend(): LimiterBackend;
  /** With Redis: resolves true once decisions go to Redis, false after `timeoutMs` without. */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 250;
const DEFAULT_PROBE_INTERVAL_MS = 1000;

export function createLimiter(options: LimiterOptions): Limiter {
  return new RateLimiter(options);
}

class RateLimiter implements Limiter {
  private readonly planner: LimitPlanner;
  private readonly metrics: LimiterMetrics;
  private readonly local: MemoryBuckets;
  private readonly redis: RedisBuckets | undefined;
  private readonly failover: RedisFailover | undefined;
  /**
   * The share of each limit this replica enforces when it counts alone: 1/replicas. Limits are
   * for all replicas together (`limits.global` says so), so a replica that cannot share counters
   * through Redis (none configured, or unreachable) keeps to its share.
   */
  private readonly localShare: number;
  /** Said in a refusal made on the local buckets, when they hold less than the whole limit. */
  private readonly localNote: string;

  constructor(options: LimiterOptions) {
    const clock = options.clock ?? Date.now;
    const replicas = options.limits.replicas;
    this.localShare = 1 / replicas;
    this.metrics = new LimiterMetrics(options.metricsRegistry ?? new Registry());
    this.local = new MemoryBuckets(clock);
    const redisUrl = options.redis?.url ?? '';
    this.planner = new LimitPlanner(
      options.limits,
      redisUrl ? (options.redis?.keyPrefix ?? '') : '',
      options.tenantOf,
      this.metrics,
    );
    if (redisUrl) {
      this.redis = new RedisBuckets({
        url: redisUrl,
        commandTimeoutMs: options.redis?.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
        clock: options.clock,
      });
      this.failover = new RedisFailover({
        redis: this.redis,
        replicas: options.limits.replicas,
        probeIntervalMs: options.redis?.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
        metrics: this.metrics,
        logger: options.logger,
      });
    } else {
      this.metrics.useBackend('local', false);
    }
    this.localNote =
      replicas === 1
        ? ''
        : `${redisUrl ? 'while Redis is unreachable' : 'without Redis'}, each of ${replicas} replicas enforces 1/${replicas} of it`;
  }

  checkRequest(tenantId: string, app: App): LimitDecision | Promise<LimitDecision> {
    const plan = this.planner.planFor(tenantId, app);
    if (this.failover?.usesRedis) {
      if (plan.requests.length === 0 && plan.payload.length === 0) return ALLOWED;
      return this.chargeRedis(
        plan,
        plan.allowedRequests,
        this.planner.redisStageOne(plan),
        (share) => this.planner.requestChargeSet(plan, share),
      );
    }
    if (plan.requests.length === 0) return ALLOWED;
    const set = this.planner.requestChargeSet(plan, this.localShare);
    return this.settle(plan, plan.allowedRequests, set, this.local.charge(set), true);
  }

  checkPayload(
    tenantId: string,
    app: App,
    usage: PayloadUsage,
  ): LimitDecision | Promise<LimitDecision> {
    const plan = this.planner.planFor(tenantId, app);
    if (plan.payload.length === 0) return ALLOWED;
    const { specs, costs } = this.planner.payloadCharge(plan, usage);
    if (specs.length === 0) return ALLOWED;
    if (this.failover?.usesRedis) {
      // Stage 1 refused this request if a payload bucket was in debt past its burst; this payload
      // is debited without waiting for Redis (pipelined with other commands), so a request costs
      // one round trip. A debit past the burst refuses the tenant's next requests, before their
      // body is read, until the debt is repaid: at most one payload per request in flight gets
      // through over the limit, as with Sentry Relay's quotas.
      const debit = overdraft(chargeSet(specs, costs, 1));
      this.redis!.charge(debit).catch((error: unknown) => this.failover!.failed(error));
      plan.allowedPayloads.pending++;
      return ALLOWED;
    }
    const set = chargeSet(specs, costs, this.localShare);
    return this.settle(plan, plan.allowedPayloads, set, this.local.charge(set), true);
  }

  backend(): LimiterBackend {
    return this.failover?.usesRedis ? 'redis' : 'local';
  }

  ready(timeoutMs: number): Promise<boolean> {
    return this.failover ? this.failover.ready(timeoutMs) : Promise.resolve(false);
  }

  async close(): Promise<void> {
    this.failover?.close();
    await this.redis?.close();
  }

  /** One round trip; on any failure the same decision is made on the local buckets at once. */
  private chargeRedis(
    plan: TargetPlan,
    allowedCell: DecisionCell,
    shared: ChargeSet,
    localSet: (share: number) => ChargeSet,
  ): Promise<LimitDecision> {
    return this.redis!.charge(shared).then(
      (outcome) => this.settle(plan, allowedCell, shared, outcome, false),
      (error: unknown) => {
        this.failover!.failed(error);
        const set = localSet(this.localShare);
        return this.settle(plan, allowedCell, set, this.local.charge(set), true);
      },
    );
  }

  private settle(
    plan: TargetPlan,
    allowedCell: DecisionCell,
    set: ChargeSet,
    outcome: ChargeOutcome,
    /** True when the local buckets decided (each limit divided by the replicas). */
    countedLocally: boolean,
  ): LimitDecision {
    if (outcome.allowed) {
      allowedCell.pending++;
      return ALLOWED;
    }
    const spec = set.specs[outcome.index]!;
    const cost = set.costs[outcome.index]!;
    this.metrics.cell(plan.tenantId, spec.level, spec.limit, false).pending++;
    const note = countedLocally ? this.localNote : '';
    return refusal(spec, cost, retryAfterSeconds(outcome.waitMs), note);
  }
}

/** The same charges with no ceiling: the script always takes them (a debit after the fact). */
function overdraft(set: ChargeSet): ChargeSet {
  return { ...set, tolerances: set.tolerances.map(() => Number.MAX_SAFE_INTEGER) };
}

const UNITS: Record<LimitName, string> = {
  requests: 'requests',
  items: 'items',
  bytes: 'bytes',
  'kinds.log': 'logs',
  'kinds.exception': 'exceptions',
  'kinds.measurement': 'measurements',
  'kinds.event': 'events',
  'kinds.span': 'spans',
};

/** `tenant acme is over its limit of 100 requests/s (burst 200)`, and why when it is not obvious. */
function refusal(spec: BucketSpec, cost: number, retryAfter: number, note: string): LimitRefusal {
  const { perSecond, burst } = spec.rate;
  // `1 MiB/s (burst 2 MiB)` reads better than `1048576 bytes/s (burst 2097152)`.
  const amount =
    spec.limit === 'bytes'
      ? (value: number) => formatBytes(value)
      : (value: number) => `${value} ${UNITS[spec.limit]}`;
  const who = spec.level === 'global' ? 'all traffic together' : `${spec.level} ${spec.subject}`;
  const parts = [
    `${who} is over ${spec.level === 'global' ? 'the global' : 'its'} limit of ${amount(perSecond)}/s (burst ${spec.limit === 'bytes' ? amount(burst) : burst})`,
  ];
  if (note) parts.push(note);
  if (cost > burst)
    parts.push(`this request alone is ${amount(cost)}: it passes only when the bucket is full`);
  parts.push(`retry after ${retryAfter} s`);
  return {
    allowed: false,
    level: spec.level,
    subject: spec.subject,
    limit: spec.limit,
    rate: spec.rate,
    cost,
    retryAfterSeconds: retryAfter,
    message: parts.join('; '),
  };
}
