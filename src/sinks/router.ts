import { join } from 'node:path';
import type { Logger } from 'pino';
import type { PharosConfig } from '../config/index.js';
import { PharosError } from '../errors/index.js';
import type { Metrics } from '../metrics/index.js';
import type { Tenant } from '../registry/index.js';
import {
  BatchingBudget,
  createDeliverySink,
  QueueMemoryLimit,
  type DeliveryOptions,
} from './delivery/index.js';
import type { SinkRoutes } from './fanout.js';
import { createLokiProtocol, type TrailingKeys } from './loki/index.js';
import { createTracesProtocol } from './otlp/index.js';
import type { Sink } from './types.js';

export interface SinkRouterDeps {
  config: Readonly<PharosConfig>;
  metrics: Metrics;
  logger: Logger;
  clock?: () => number;
  /** Sinks every tenant shares (the embedded store, the metrics sink). */
  shared: readonly Sink[];
  /** Display name of an app, the Loki `service_name` fallback when the payload has no app name. */
  appName?: (appId: string) => string | undefined;
  /** Keys appended to every Loki line after Alloy's (the error fingerprint). */
  lokiTrailingKeys?: TrailingKeys;
}

interface TenantSinks {
  /** What the tenant's network sinks were built from; a change rebuilds them. */
  signature: string;
  sinks: readonly Sink[];
}

/**
 * Which sinks a tenant's batches go to. The shared sinks take every tenant's data; Loki and
 * traces sinks are per tenant (own endpoint overrides, own X-Scope-OrgID, own queue and spool,
 * so one tenant's dead backend or full queue never holds up another's).
 *
 * Network sinks open their spool asynchronously, so they are built when the registry changes,
 * never on the request path. A tenant whose sinks are being (re)built gets 503 with a short
 * Retry-After rather than a batch that skips a sink.
 */
export class SinkRouter implements SinkRoutes {
  private readonly deps: SinkRouterDeps;
  private readonly byTenant = new Map<string, TenantSinks>();
  private readonly building = new Set<string>();
  private syncing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Shared by every tenant's network sinks. */
  private readonly batchingBudget: BatchingBudget;
  private readonly queueMemoryLimit: QueueMemoryLimit;

  constructor(deps: SinkRouterDeps) {
    this.deps = deps;
    this.batchingBudget = new BatchingBudget(deps.config.delivery.maxWaitingBytes);
    this.queueMemoryLimit = new QueueMemoryLimit(deps.config.delivery.maxMemoryBytes);
    deps.metrics.deliverySharedReporters.add(this.reportSharedBytes);
  }

  private readonly reportSharedBytes = (): void => {
    const gauge = this.deps.metrics.deliverySharedBytes;
    gauge.labels('memory').set(this.queueMemoryLimit.bytes);
    gauge.labels('waiting').set(this.batchingBudget.waitingBytes);
  };

  sinksFor(tenantId: string): readonly Sink[] {
    const entry = this.byTenant.get(tenantId);
    if (entry === undefined || this.building.has(tenantId)) {
      throw new PharosError(
        'OVERLOADED',
        `the sinks of tenant ${tenantId} are starting; retry in a moment`,
        {
          retryAfterSeconds: 1,
        },
      );
    }
    return entry.sinks;
  }

  all(): readonly Sink[] {
    const network = [...this.byTenant.values()].flatMap((entry) =>
      entry.sinks.filter((sink) => !this.deps.shared.includes(sink)),
    );
    return [...this.deps.shared, ...network];
  }

  /** Brings the per-tenant sinks in line with the registry's tenants. Calls are serialised. */
  sync(tenants: readonly Tenant[]): Promise<void> {
    this.syncing = this.syncing
      .then(() => this.apply(tenants))
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error }, 'could not build the sinks of a tenant');
      });
    return this.syncing;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deps.metrics.deliverySharedReporters.delete(this.reportSharedBytes);
    await this.syncing;
    await Promise.all(this.all().map((sink) => sink.close()));
  }

  private async apply(tenants: readonly Tenant[]): Promise<void> {
    if (this.closed) return;
    const wanted = new Map(tenants.map((tenant) => [tenant.id, tenant]));
    for (const [tenantId, entry] of this.byTenant) {
      if (!wanted.has(tenantId)) {
        this.byTenant.delete(tenantId);
        await this.closeNetworkSinks(entry);
      }
    }
    for (const tenant of tenants) {
      const settings = this.settingsFor(tenant);
      const signature = JSON.stringify(settings);
      const current = this.byTenant.get(tenant.id);
      if (current?.signature === signature) continue;
      this.building.add(tenant.id);
      try {
        // The old sinks must let go of the spool directory before new ones open it.
        if (current) await this.closeNetworkSinks(current);
        const network = await this.buildNetworkSinks(tenant, settings);
        this.byTenant.set(tenant.id, { signature, sinks: [...this.deps.shared, ...network] });
      } finally {
        this.building.delete(tenant.id);
      }
    }
  }

  private settingsFor(tenant: Tenant) {
    const { sinks } = this.deps.config;
    return {
      orgId: tenant.orgId ?? tenant.id,
      loki: withOverrides(sinks.loki, tenant.sinks.loki),
      traces: withOverrides(sinks.traces, tenant.sinks.traces),
    };
  }

  private async buildNetworkSinks(
    tenant: Tenant,
    settings: ReturnType<SinkRouter['settingsFor']>,
  ): Promise<Sink[]> {
    const { config, metrics, logger, clock } = this.deps;
    const delivery = (kind: string): DeliveryOptions => ({
      tenantId: tenant.id,
      spoolDir: join(config.dataDir, 'spool', kind, tenant.id),
      durability: config.delivery.durability,
      maxQueueBytes: config.delivery.maxQueueBytes,
      maxSpoolBytes: config.delivery.maxSpoolBytes,
      batch: {
        maxItems: config.delivery.batchMaxItems,
        maxBytes: config.delivery.batchMaxBytes,
        maxAgeMs: config.delivery.batchMaxAge,
      },
      retry: {
        initialDelayMs: config.delivery.retryInitialDelay,
        maxDelayMs: config.delivery.retryMaxDelay,
        multiplier: 2,
        jitter: 0.2,
      },
      requestTimeoutMs: config.delivery.requestTimeout,
    });
    const deps = {
      metrics,
      logger,
      batchingBudget: this.batchingBudget,
      queueMemoryLimit: this.queueMemoryLimit,
      ...(clock ? { clock } : {}),
    };
    const sinks: Sink[] = [];
    if (settings.loki.url !== '') {
      const protocol = createLokiProtocol({
        url: settings.loki.url,
        orgId: settings.orgId,
        format: settings.loki.format,
        encoding: settings.loki.encoding,
        labels: settings.loki.labels,
        structuredMetadata: settings.loki.structuredMetadata,
        timestamp: settings.loki.timestamp,
        headers: settings.loki.headers,
        ...(this.deps.appName ? { appName: this.deps.appName } : {}),
        ...(this.deps.lokiTrailingKeys ? { trailingKeys: this.deps.lokiTrailingKeys } : {}),
      });
      sinks.push(await createDeliverySink(protocol, delivery('loki'), deps));
    }
    if (settings.traces.url !== '') {
      const protocol = createTracesProtocol({
        url: settings.traces.url,
        orgId: settings.orgId,
        encoding: settings.traces.encoding,
        headers: settings.traces.headers,
        onPartialSuccess: ({ rejectedSpans, errorMessage }) =>
          logger.warn(
            { tenant: tenant.id, rejectedSpans, errorMessage },
            'the traces backend refused some spans',
          ),
      });
      sinks.push(await createDeliverySink(protocol, delivery('traces'), deps));
    }
    return sinks;
  }

  private async closeNetworkSinks(entry: TenantSinks): Promise<void> {
    await Promise.all(
      entry.sinks.filter((sink) => !this.deps.shared.includes(sink)).map((sink) => sink.close()),
    );
  }
}

/** The global settings with a tenant's overrides on top (overrides were validated by the config schema). */
function withOverrides<T extends object>(
  global: T,
  overrides: Record<string, unknown> | undefined,
): T {
  const defined = Object.entries(overrides ?? {}).filter(([, value]) => value !== undefined);
  return { ...global, ...Object.fromEntries(defined) };
}
