import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { App, Limits, Tenant } from '../../../registry/index.js';
import type { PayloadUsage } from '../types.js';

/** Test helpers shared by the limiter's unit tests and test/limits (not part of the build). */

export function makeApp(id: string, tenantId: string, limits: Limits = {}): App {
  return {
    id,
    tenantId,
    name: id,
    allowedOrigins: [],
    environments: [],
    samplingRate: 1,
    tracePropagationUrls: [],
    ignoreUrls: [],
    limits,
    source: 'api',
    createdAt: 0,
    updatedAt: 0,
  };
}

export function makeTenant(id: string, limits: Limits = {}): Tenant {
  return {
    id,
    name: id,
    orgId: null,
    sinks: {},
    limits,
    source: 'api',
    createdAt: 0,
    updatedAt: 0,
  };
}

/** A registry stand-in: tenants by id, replaceable like the real cache's snapshots. */
export function tenantDirectory(...tenants: Tenant[]) {
  const byId = new Map(tenants.map((tenant) => [tenant.id, tenant]));
  return {
    tenantOf: (id: string) => byId.get(id),
    set: (tenant: Tenant) => byId.set(tenant.id, tenant),
  };
}

/** A clock the test moves by hand (ms). */
export function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

export function usage(kinds: Partial<PayloadUsage['kinds']> = {}, bytes = 1000): PayloadUsage {
  const full = { log: 0, exception: 0, measurement: 0, event: 0, span: 0, ...kinds };
  const items = full.log + full.exception + full.measurement + full.event + full.span;
  return { items, bytes, kinds: full };
}

/** A pino logger whose lines the test can read. */
export function capturedLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
  );
  return { logger, lines, warnings: () => lines.filter((line) => line.level >= 40) };
}

/** The value of one series of a metric, or undefined when absent. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  const series = values.find((value) =>
    Object.entries(labels).every(([key, expected]) => String(value.labels[key]) === expected),
  );
  return series?.value;
}

export { Registry };
