import type { SendResult } from './http-client.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';

/** Answers by kind. 429 (rate limited) and 503 (overloaded) are what a collector sheds load with. */
export interface StatusCounts {
  readonly completed: number;
  /** 2xx answers. */
  readonly accepted: number;
  readonly rateLimited429: number;
  readonly unavailable503: number;
  /** Other 4xx and 5xx. */
  readonly otherErrors: number;
  readonly timeouts: number;
  /** Connection refused or reset, no answer. */
  readonly networkErrors: number;
  /** Every status seen, by code (`"202": 1234`). */
  readonly byStatus: Readonly<Record<string, number>>;
}

/** Counts answers and their latencies; one for the whole run, one per progress interval. */
export class Tally {
  readonly latency = new LatencyRecorder();
  private readonly statuses = new Map<number, number>();
  private timeouts = 0;
  private networkErrors = 0;
  private readonly tenants = new Map<string, Map<number, number>>();

  record(result: SendResult, latencyMs: number, tenant: string | undefined): void {
    this.latency.recordMs(latencyMs);
    if ('failure' in result) {
      if (result.failure === 'timeout') this.timeouts++;
      else this.networkErrors++;
    }
    this.statuses.set(result.status, (this.statuses.get(result.status) ?? 0) + 1);
    if (tenant !== undefined) {
      let counts = this.tenants.get(tenant);
      if (!counts) this.tenants.set(tenant, (counts = new Map<number, number>()));
      counts.set(result.status, (counts.get(result.status) ?? 0) + 1);
    }
  }

  reset(): void {
    this.latency.reset();
    this.statuses.clear();
    this.tenants.clear();
    this.timeouts = 0;
    this.networkErrors = 0;
  }

  counts(): StatusCounts {
    return countsOf(this.statuses, this.timeouts, this.networkErrors);
  }

  /** Counts per tenant (apps with a tenant only); statuses 0 are failures without an answer. */
  byTenant(): Record<string, StatusCounts> {
    const out: Record<string, StatusCounts> = {};
    for (const [tenant, statuses] of this.tenants) {
      const failures = statuses.get(0) ?? 0;
      // Per tenant, timeouts and network errors are not told apart: both are "no answer".
      out[tenant] = countsOf(statuses, 0, failures);
    }
    return out;
  }

  latencySummary(): LatencySummary {
    return this.latency.summary();
  }
}

function countsOf(
  statuses: ReadonlyMap<number, number>,
  timeouts: number,
  networkErrors: number,
): StatusCounts {
  let completed = 0;
  let accepted = 0;
  let otherErrors = 0;
  const byStatus: Record<string, number> = {};
  for (const [status, count] of statuses) {
    if (status === 0) continue;
    completed += count;
    byStatus[String(status)] = count;
    if (status >= 200 && status < 300) accepted += count;
    else if (status !== 429 && status !== 503) otherErrors += count;
  }
  return {
    completed,
    accepted,
    rateLimited429: statuses.get(429) ?? 0,
    unavailable503: statuses.get(503) ?? 0,
    otherErrors,
    timeouts,
    networkErrors,
    byStatus,
  };
}
