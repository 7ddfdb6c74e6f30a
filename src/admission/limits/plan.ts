import { ITEM_KINDS, type ItemKind } from '../../model/index.js';
import type { App, Limits, RateLimit } from '../../registry/index.js';
import { chargeSet } from './gcra.js';
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

/** Everything one app's requests need, resolved once per registry snapshot. */
export interface TargetPlan {
  /** The tenant object this plan was built from; another object means the registry reloaded. */
  readonly tenant: TenantLimitsSource | undefined;
  readonly tenantId: string;
  /** Stage 1: the `requests` buckets, global → tenant → app, each charged 1. */
  readonly requests: readonly BucketSpec[];
  /** Stage 2: items, bytes and per-kind buckets of every level, with what each counts. */
  readonly payload: readonly BucketSpec[];
  readonly payloadMeasures: readonly Measure[];
  /** The stage-1 charge sets, built on first use for each share (shared, local). */
  readonly requestCharges: Map<number, ChargeSet>;
  readonly allowedRequests: DecisionCell;
  readonly allowedPayloads: DecisionCell;
}

interface PayloadSpecs {
  readonly specs: BucketSpec[];
  readonly measures: Measure[];
}

interface TenantSpecs {
  readonly tenantId: string;
  readonly requests: readonly BucketSpec[];
  readonly payload: PayloadSpecs;
}

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
  private readonly globalRequests: BucketSpec[];
  private readonly globalPayload: { specs: BucketSpec[]; measures: Measure[] };

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

  private build(tenantId: string, tenant: TenantLimitsSource | undefined, app: App): TargetPlan {
    const tenantSpecs = this.specsOfTenant(tenantId, tenant);
    const tenantPayload = tenantSpecs.payload;
    const appLimits = effectiveLimits(this.defaults.app, app.limits);
    const appPayload = this.payloadSpecs('app', app.id, appLimits);
    return {
      tenant,
      tenantId,
      requests: [
        ...this.globalRequests,
        ...tenantSpecs.requests,
        ...this.requestSpecs('app', app.id, appLimits),
      ],
      payload: [...this.globalPayload.specs, ...tenantPayload.specs, ...appPayload.specs],
      payloadMeasures: [
        ...this.globalPayload.measures,
        ...tenantPayload.measures,
        ...appPayload.measures,
      ],
      requestCharges: new Map(),
      allowedRequests: this.metrics.cell(tenantId, 'all', 'requests', true),
      allowedPayloads: this.metrics.cell(tenantId, 'all', 'payload', true),
    };
  }

  private specsOfTenant(tenantId: string, tenant: TenantLimitsSource | undefined): TenantSpecs {
    const cached = tenant ? this.tenantSpecs.get(tenant) : undefined;
    if (cached !== undefined && cached.tenantId === tenantId) return cached;
    const limits = effectiveLimits(this.defaults.tenant, tenant?.limits);
    const specs: TenantSpecs = {
      tenantId,
      requests: this.requestSpecs('tenant', tenantId, limits),
      payload: this.payloadSpecs('tenant', tenantId, limits),
    };
    if (tenant) this.tenantSpecs.set(tenant, specs);
    return specs;
  }

  private spec(level: LimitLevel, subject: string, limit: LimitName, rate: RateLimit): BucketSpec {
    const scope = level === 'global' ? 'global' : `${level}:${subject}`;
    return { key: `${this.keyPrefix}limit:${scope}:${limit}`, level, subject, limit, rate };
  }

  private requestSpecs(level: LimitLevel, subject: string, limits: Limits): BucketSpec[] {
    return limits.requests ? [this.spec(level, subject, 'requests', limits.requests)] : [];
  }

  private payloadSpecs(level: LimitLevel, subject: string, limits: Limits): PayloadSpecs {
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

/** The stage-1 charge set of a plan for one share, built once and kept on the plan. */
export function requestChargeSet(plan: TargetPlan, share: number): ChargeSet {
  let set = plan.requestCharges.get(share);
  if (set === undefined) {
    set = chargeSet(
      plan.requests,
      plan.requests.map(() => 1),
      share,
    );
    plan.requestCharges.set(share, set);
  }
  return set;
}
