import { Counter, Gauge, type Registry } from 'prom-client';
import type { LimitLevel, LimitName } from './types.js';

/** Why the limiter left Redis for its local buckets. */
export type FallbackReason = 'timeout' | 'connection' | 'error';

/** Where decisions are made now: the shared Redis buckets, or this replica's own. */
export type LimiterBackend = 'redis' | 'local';

/**
 * One label set of `pharos_limiter_decisions_total`, counted in a plain field and added to the
 * counter when /metrics is scraped: prom-client hashes and validates the labels on every `inc`,
 * which would cost more than the memory limiter's whole decision.
 */
export interface DecisionCell {
  pending: number;
}

type DecisionLabels = { tenant: string; level: string; limit: string; decision: string };

/**
 * The limiter's metrics, on the registry it is given. Labels are bounded: tenants are the
 * registered ones (a request reaches the limiter only after its key resolved), levels and
 * limits come from fixed lists.
 */
export class LimiterMetrics {
  private readonly cells = new Map<string, { labels: DecisionLabels; cell: DecisionCell }>();
  private readonly backend: Gauge<'backend'>;
  private readonly fallbacks: Counter<'reason'>;

  constructor(registry: Registry) {
    const cells = this.cells;
    new Counter({
      name: 'pharos_limiter_decisions_total',
      help: 'Rate-limit decisions by tenant. Refused: the level (global, tenant, app) and the limit (requests, items, bytes, kinds.<kind>) that refused. Allowed: level="all", limit="requests" (before the body) or "payload" (after parsing; counted only when a payload limit applies).',
      labelNames: ['tenant', 'level', 'limit', 'decision'] as const,
      registers: [registry],
      collect() {
        for (const { labels, cell } of cells.values()) {
          if (cell.pending === 0) continue;
          this.inc(labels, cell.pending);
          cell.pending = 0;
        }
      },
    });
    this.backend = new Gauge({
      name: 'pharos_limiter_backend',
      help: 'Where rate limits are counted now: 1 for the backend in use. "redis": shared by every replica; "local": this replica alone, each limit divided by limits.replicas.',
      labelNames: ['backend'] as const,
      registers: [registry],
    });
    this.fallbacks = new Counter({
      name: 'pharos_limiter_fallbacks_total',
      help: 'Times the limiter left Redis for local buckets, by reason (timeout, connection, error).',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
  }

  /** The cell of one label set; callers on the hot path keep it (see plan.ts). */
  cell(tenant: string, level: LimitLevel | 'all', limit: LimitName | 'payload', allowed: boolean) {
    const decision = allowed ? 'allowed' : 'refused';
    const id = `${tenant}\u0000${level}\u0000${limit}\u0000${decision}`;
    let entry = this.cells.get(id);
    if (entry === undefined) {
      entry = { labels: { tenant, level, limit, decision }, cell: { pending: 0 } };
      this.cells.set(id, entry);
    }
    return entry.cell;
  }

  useBackend(backend: LimiterBackend, sharedConfigured: boolean): void {
    if (sharedConfigured) this.backend.labels('redis').set(backend === 'redis' ? 1 : 0);
    this.backend.labels('local').set(backend === 'local' ? 1 : 0);
  }

  fellBack(reason: FallbackReason): void {
    this.fallbacks.labels(reason).inc();
  }
}
