import type { Counter, CounterConfiguration, Histogram, Registry } from 'prom-client';
import { TalliedCounter } from '../../metrics/tallied-counter.js';
import { TalliedHistogram } from '../../metrics/tallied-histogram.js';
import { WEB_VITALS, type VitalName } from './web-vitals.js';

/** Labels of the web-vitals histograms; `route` is the one capped per tenant. */
export const VITAL_LABELS = ['tenant', 'app', 'environment', 'route', 'rating'] as const;
type VitalLabel = (typeof VITAL_LABELS)[number];

/**
 * The metric families of real-user monitoring: what browsers measured, as Prometheus series.
 * `tenant` is the tenant and `app` the Pharos app id that admission resolved from the app key
 * (never taken from the payload); `environment` is `meta.app.environment`.
 */
export function createRumMetrics(registry: Registry) {
  const webVitals = Object.fromEntries(
    WEB_VITALS.map((vital): [VitalName, Histogram<VitalLabel>] => [
      vital.name,
      // Observed for every vital received, in thousands of series: tallied, an observation
      // hashes no labels, and a series takes ~340 bytes instead of prom-client's ~580.
      new TalliedHistogram<VitalLabel>({
        name: vital.metricName,
        help: vital.help,
        labelNames: VITAL_LABELS,
        buckets: [...vital.buckets],
        registers: [registry],
      }),
    ]),
  ) as Record<VitalName, Histogram<VitalLabel>>;

  // Incremented for every item received, in thousands of series (~15,000 at 10,000 apps): tallied,
  // an increment hashes no labels, and a scrape writes the lines directly.
  const counter = <T extends string>(config: CounterConfiguration<T>): Counter<T> =>
    new TalliedCounter(config);

  return {
    webVitals,
    pageLoads: counter({
      name: 'pharos_page_loads_total',
      help: 'Page loads (faro.performance.navigation events), by route of the loaded document.',
      labelNames: ['tenant', 'app', 'environment', 'route'] as const,
      registers: [registry],
    }),
    sessionsStarted: counter({
      name: 'pharos_sessions_started_total',
      help: 'Sessions started (session_start events; not resumed or extended ones).',
      labelNames: ['tenant', 'app', 'environment'] as const,
      registers: [registry],
    }),
    exceptions: counter({
      name: 'pharos_exceptions_total',
      help: 'Exceptions received, by exception type (Error, TypeError, …).',
      labelNames: ['tenant', 'app', 'environment', 'type'] as const,
      registers: [registry],
    }),
    events: counter({
      name: 'pharos_events_total',
      help: 'Events received, by name: custom ones and the SDK own (faro.*, session_*, view_changed).',
      labelNames: ['tenant', 'app', 'environment', 'name'] as const,
      registers: [registry],
    }),
    seriesOverflow: counter({
      name: 'pharos_metrics_series_overflow_total',
      help: 'Observations recorded with a label value replaced by "other": past the per-tenant cap of label sets or environments, or too long.',
      labelNames: ['tenant', 'metric'] as const,
      registers: [registry],
    }),
  };
}

export type RumMetrics = ReturnType<typeof createRumMetrics>;
