import { ITEM_KINDS, type ItemKind } from '../../model/index.js';
import type { App, Limits, RateLimit } from '../../registry/index.js';
import { ChargeShapes } from './gcra.js';
import type { DecisionCell, LimiterMetrics } from './metrics.js';
import type { BucketSpec, ChargeSet, LimitLevel, LimitName, PayloadUsage } from './types.js';

/** The configured default limits of each level (`limits.global`, `limits.tenant`, `limits.app`). */
export interface LimitDefaults {
  readonly global: Limits;
  readonly tenant: Limits;
  readonly app: Limits;
}

/** What the limiter needs of a tenant: its own limits. */
export interface TenantLimitsSource {
  readonly limits: Limits;
}

/**
 * The limits in force at one level: its own limits replace the level's defaults field by field
 * (`requests`, `items`, `bytes`), and `kinds` kind by kind. An absent field is no limit.
 */
export function effectiveLimits(defaults: Limits, own: Limits | undefined): Limits {
  if (own === undefined) return defaults;
  const effective: Limits = { ...defaults };
  if (own.requests) effective.requests = own.requests;
  if (own.items) effective.items = own.items;
  if (own.bytes) effective.bytes = own.bytes;
  if (defaults.kinds || own.kinds) effective.kinds = { ...defaults.kinds, ...own.kinds };
  return effective;
}

/** What a stage-2 bucket counts in a payload. */
type Measure = 'items' | 'bytes' | ItemKind;

/**
 * Everything one app's requests need, resolved once per registry snapshot. With 10,000 apps these
 * are most of the limiter's memory, so whatever does not name the app's own buckets is shared:
 * the arrays of apps without limits of their own are their tenant's, and charge sets take their
 * rates from `ChargeShapes`.
 */
export interface TargetPlan {
  /** The tenant object this plan was built from; another object means the registry reloaded. */
  readonly tenant: TenantLimitsSource | undefined;
  readonly tenantId: string;
  /** Stage 1: the `requests` buckets, global → tenant → app, each charged 1. */
  readonly requests: readonly BucketSpec[];
  /** Stage 2: items, bytes and per-kind buckets of every level, with what each counts. */
  readonly payload: readonly BucketSpec[];
  readonly payloadMeasures: readonly Measure[];
  /**
   * The stage-1 charge set at `requestShare`, built on first use. One slot, not a map by share:
   * a limiter charges its local buckets at one share (1/replicas), and Redis has its own set.
   */
  requestCharge: ChargeSet | undefined;
  requestShare: number;
  /** Stage 1 in Redis (request buckets charged 1, payload buckets 0), built on first use. */
  redisStageOne: ChargeSet | undefined;
  readonly allowedRequests: DecisionCell;
  readonly allowedPayloads: DecisionCell;
}

interface PayloadSpecs {
  readonly specs: readonly BucketSpec[];
  readonly measures: readonly Measure[];
}

interface TenantSpecs {
  readonly tenantId: string;
  /** Global then tenant buckets: the whole `requests` of the tenant's apps without their own. */
  readonly requests: readonly BucketSpec[];
  /** Likewise for the payload buckets. */
  readonly payload: PayloadSpecs;
  /** `requests` then `payload`: the specs of stage 1 in Redis, made on first use. */
  stageOne?: readonly BucketSpec[];
}

/** One empty list for every plan without buckets of a stage (most apps have no payload limits). */
const NO_SPECS: readonly BucketSpec[] = Object.freeze([]);
const NO_PAYLOAD: PayloadSpecs = Object.freeze({ specs: NO_SPECS, measures: Object.freeze([]) });

/**
 * Resolves the buckets of an app and its tenant, and keeps the result for as long as the
 * registry keeps the same app object. The registry swaps in new objects on every reload, so a
 * WeakMap on the app drops stale plans with their apps and a limits change applies at once.
 */
export class LimitPlanner {
  private readonly plans = new WeakMap<App, TargetPlan>();
  /**
   * A tenant's own buckets, shared by the plans of all its apps (10,000 apps held 10,000 copies
   * of their tenants' specs). Keyed by the registry's tenant object, like `plans` by the app.
   */
  private readonly tenantSpecs = new WeakMap<TenantLimitsSource, TenantSpecs>();
  private readonly globalRequests: readonly BucketSpec[];
  private readonly globalPayload: PayloadSpecs;
  /** Costs and rates of charge sets, shared by the plans of apps with equal limits. */
  private readonly shapes = new ChargeShapes();

  constructor(
    private readonly defaults: LimitDefaults,
    /** Prefix of every bucket key (the Redis key prefix, `pharos:`). */
    private readonly keyPrefix: string,
    private readonly tenantOf: (tenantId: string) => TenantLimitsSource | undefined,
    private readonly metrics: LimiterMetrics,
  ) {
    // Every app's plan shares the same global specs (same keys, built once).
    this.globalRequests = this.requestSpecs('global', '', defaults.global);
    this.globalPayload = this.payloadSpecs('global', '', defaults.global);
  }

  planFor(tenantId: string, app: App): TargetPlan {
    const tenant = this.tenantOf(tenantId);
    const cached = this.plans.get(app);
    if (cached !== undefined && cached.tenant === tenant && cached.tenantId === tenantId)
      return cached;
    const plan = this.build(tenantId, tenant, app);
    this.plans.set(app, plan);
    return plan;
  }

  /** The buckets charged for a payload, and what each costs; skips buckets the payload costs 0. */
  payloadCharge(plan: TargetPlan, usage: PayloadUsage): { specs: BucketSpec[]; costs: number[] } {
    const specs: BucketSpec[] = [];
    const costs: number[] = [];
    for (let i = 0; i < plan.payload.length; i++) {
      const measure = plan.payloadMeasures[i]!;
      const cost =
        measure === 'items'
          ? usage.items
          : measure === 'bytes'
            ? usage.bytes
            : usage.kinds[measure];
      if (cost > 0) {
        specs.push(plan.payload[i]!);
        costs.push(cost);
      }
    }
    return { specs, costs };
  }

  /** The stage-1 charge set of a plan for one share, built once and kept on the plan. */
  requestChargeSet(plan: TargetPlan, share: number): ChargeSet {
    if (plan.requestCharge !== undefined && plan.requestShare === share) return plan.requestCharge;
    const shared = plan.requests === this.tenantListsOf(plan)?.requests;
    const set = this.shapes.chargeSet(plan.requests, plan.requests.length, 0, share, shared);
    plan.requestCharge = set;
    plan.requestShare = share;
    return set;
  }

  /**
   * Stage 1 in Redis: the request buckets charged 1 each, and the payload buckets charged 0,
   * which refuses while earlier payloads hold one in debt past its burst. Built once per plan.
   */
  redisStageOne(plan: TargetPlan): ChargeSet {
    if (plan.redisStageOne === undefined) {
      const tenantLists = this.tenantListsOf(plan);
      const shared =
        plan.payload.length === 0
          ? plan.requests === tenantLists?.requests
          : plan.requests === tenantLists?.requests && plan.payload === tenantLists.payload.specs;
      // With payload buckets the list is new, but equal for the apps that share both lists: the
      // tenant keeps it.
      const specs =
        plan.payload.length === 0
          ? plan.requests
          : shared
            ? (tenantLists!.stageOne ??= [...plan.requests, ...plan.payload])
            : [...plan.requests, ...plan.payload];
      plan.redisStageOne = this.shapes.chargeSet(
        specs,
        plan.requests.length,
        plan.payload.length,
        1,
        shared,
      );
    }
    return plan.redisStageOne;
  }

  /** The lists the plan's tenant shares among its apps, if the plan was built from them. */
  private tenantListsOf(plan: TargetPlan): TenantSpecs | undefined {
    const lists = plan.tenant ? this.tenantSpecs.get(plan.tenant) : undefined;
    return lists?.tenantId === plan.tenantId ? lists : undefined;
  }

  private build(tenantId: string, tenant: TenantLimitsSource | undefined, app: App): TargetPlan {
    const tenantSpecs = this.specsOfTenant(tenantId, tenant);
    const appLimits = effectiveLimits(this.defaults.app, app.limits);
    const appRequests = this.requestSpecs('app', app.id, appLimits);
    const appPayload = this.payloadSpecs('app', app.id, appLimits);
    return {
      tenant,
      tenantId,
      // Only an app with buckets of its own needs its own lists; the others share the tenant's.
      requests:
        appRequests.length === 0 ? tenantSpecs.requests : [...tenantSpecs.requests, ...appRequests],
      payload:
        appPayload.specs.length === 0
          ? tenantSpecs.payload.specs
          : [...tenantSpecs.payload.specs, ...appPayload.specs],
      payloadMeasures:
        appPayload.specs.length === 0
          ? tenantSpecs.payload.measures
          : [...tenantSpecs.payload.measures, ...appPayload.measures],
      requestCharge: undefined,
      requestShare: 0,
      redisStageOne: undefined,
      allowedRequests: this.metrics.cell(tenantId, 'all', 'requests', true),
      allowedPayloads: this.metrics.cell(tenantId, 'all', 'payload', true),
    };
  }

  private specsOfTenant(tenantId: string, tenant: TenantLimitsSource | undefined): TenantSpecs {
    const cached = tenant ? this.tenantSpecs.get(tenant) : undefined;
    if (cached !== undefined && cached.tenantId === tenantId) return cached;
    const limits = effectiveLimits(this.defaults.tenant, tenant?.limits);
    const payload = this.payloadSpecs('tenant', tenantId, limits);
    const specs: TenantSpecs = {
      tenantId,
      requests: concat(this.globalRequests, this.requestSpecs('tenant', tenantId, limits)),
      payload:
        this.globalPayload.specs.length + payload.specs.length === 0
          ? NO_PAYLOAD
          : {
              specs: [...this.globalPayload.specs, ...payload.specs],
              measures: [...this.globalPayload.measures, ...payload.measures],
            },
    };
    if (tenant) this.tenantSpecs.set(tenant, specs);
    return specs;
  }

  private spec(level: LimitLevel, subject: string, limit: LimitName, rate: RateLimit): BucketSpec {
    const scope = level === 'global' ? 'global' : `${level}:${subject}`;
    // join() makes one flat string; a template literal would keep a cons string (a rope of the
    // parts, flattened in place on first hashing) in front of it for as long as the plan lives.
    const key = [this.keyPrefix, 'limit:', scope, ':', limit].join('');
    return { key, level, subject, limit, rate };
  }

  private requestSpecs(level: LimitLevel, subject: string, limits: Limits): readonly BucketSpec[] {
    return limits.requests ? [this.spec(level, subject, 'requests', limits.requests)] : NO_SPECS;
  }

  private payloadSpecs(level: LimitLevel, subject: string, limits: Limits): PayloadSpecs {
    if (!limits.items && !limits.bytes && !limits.kinds) return NO_PAYLOAD;
    const specs: BucketSpec[] = [];
    const measures: Measure[] = [];
    if (limits.items) {
      specs.push(this.spec(level, subject, 'items', limits.items));
      measures.push('items');
    }
    if (limits.bytes) {
      specs.push(this.spec(level, subject, 'bytes', limits.bytes));
      measures.push('bytes');
    }
    for (const kind of ITEM_KINDS) {
      const rate = limits.kinds?.[kind];
      if (rate) {
        specs.push(this.spec(level, subject, `kinds.${kind}`, rate));
        measures.push(kind);
      }
    }
    return { specs, measures };
  }
}

/** `first` then `second`, as `first` or `second` itself when the other is empty. */
function concat<T>(first: readonly T[], second: readonly T[]): readonly T[] {
  if (second.length === 0) return first;
  if (first.length === 0) return second;
  return [...first, ...second];
}
