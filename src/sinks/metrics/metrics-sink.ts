import type { Logger } from 'pino';
import type { Counter, Histogram, Registry } from 'prom-client';
import type { AcceptedBatch, FaroEvent } from '../../model/index.js';
import type { Sink } from '../types.js';
import { boundedValue, createValueCap, type BoundedValue } from './label-values.js';
import { createRouteTemplater } from './route-template.js';
import { createRumMetrics, type RumMetrics } from './rum-metrics.js';
import { createSeriesCap, type SeriesCap } from './series-cap.js';
import { WEB_VITALS, ratingOf } from './web-vitals.js';

export interface MetricsSinkOptions {
  /**
   * Route patterns tried in order before the automatic templating of page paths:
   * `/products/:id` (`:name` = one segment), `/docs/*` (final `*` = one or more segments),
   * literal segments otherwise. See `route-patterns.ts`. Default: none.
   */
  readonly routes?: readonly string[];
  /** Distinct label sets per tenant and metric; past it, new routes / types / names are `other`. */
  readonly maxSeriesPerTenant?: number;
  /** Distinct label sets per metric, all tenants together; past it, `app` becomes `other` too. */
  readonly maxSeries?: number;
  /** Distinct `environment` values per tenant; past it, new ones are `other`. */
  readonly maxEnvironmentsPerTenant?: number;
}

export interface MetricsSinkDeps {
  /** Where the metric families are registered (Pharos's registry, served on `/metrics`). */
  readonly registry: Registry;
  /**
   * Families already registered in `registry`, when this is not the first metrics sink made
   * with it (prom-client refuses to register a name twice). Default: created in `registry`.
   */
  readonly metrics?: RumMetrics;
  readonly logger: Logger;
}

export const DEFAULT_MAX_SERIES_PER_TENANT = 2000;
export const DEFAULT_MAX_SERIES = 10_000;
export const DEFAULT_MAX_ENVIRONMENTS_PER_TENANT = 20;

const WEB_VITALS_TYPE = 'web-vitals';
const PAGE_LOAD_EVENT = 'faro.performance.navigation';
const SESSION_START_EVENT = 'session_start';
/** Faro's performance events say `unknown` for a value the browser did not give. */
const FARO_MISSING_VALUE = 'unknown';
/**
 * Positions among the labels after `tenant`, which every family orders as
 * [app, environment, route | type | name, (rating)]: the label that becomes `other` past the cap.
 */
const ENVIRONMENT_LABEL = 1;
const OPEN_ENDED_LABEL = 2;
/** A recording failure is logged at most this often (it would otherwise repeat on every batch). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/** A Sink that records synchronously: `offer` never returns a promise. */
export interface MetricsSink extends Sink {
  offer(batch: AcceptedBatch): void;
}

type HistogramChild = Histogram.Internal<string>;
type CounterChild = Counter.Internal;

/**
 * Turns web vitals into Prometheus histograms, and page loads, sessions, exceptions and events
 * into counters, at ingest: dashboards read Prometheus instead of scanning logs.
 *
 * Recording is a few Map lookups per item, done in `offer`: nothing is queued, so the sink always
 * has room, and flush and close have nothing to do. A failure to record is logged and never
 * refuses the batch (the other sinks have it, and the 202 stands).
 */
export function createMetricsSink(options: MetricsSinkOptions, deps: MetricsSinkDeps): MetricsSink {
  const templateRoute = createRouteTemplater(options.routes ?? []);
  const metrics = deps.metrics ?? createRumMetrics(deps.registry);
  const maxSeriesPerTenant = options.maxSeriesPerTenant ?? DEFAULT_MAX_SERIES_PER_TENANT;
  const environmentOf = createValueCap(
    options.maxEnvironmentsPerTenant ?? DEFAULT_MAX_ENVIRONMENTS_PER_TENANT,
  );

  /** Series of one family; `cappedLabel` indexes the labels after `tenant`. */
  const capped = <Child>(
    metricName: string,
    cappedLabel: number,
    child: (labelValues: string[]) => Child,
  ): SeriesCap<Child> =>
    createSeriesCap({
      maxSeriesPerTenant,
      maxSeries: options.maxSeries ?? DEFAULT_MAX_SERIES,
      cappedLabel,
      child,
      onOverflow: (tenant) => metrics.seriesOverflow.labels(tenant, metricName).inc(),
    });

  const vitals = WEB_VITALS.map((vital) => {
    const histogram = metrics.webVitals[vital.name];
    return {
      vital,
      series: capped<HistogramChild>(vital.metricName, OPEN_ENDED_LABEL, (values) =>
        histogram.labels(...values),
      ),
    };
  });
  const pageLoads = capped<CounterChild>('pharos_page_loads_total', OPEN_ENDED_LABEL, (values) =>
    metrics.pageLoads.labels(...values),
  );
  // No open-ended label here: past the cap (apps × environments), the environment becomes `other`.
  const sessionsStarted = capped<CounterChild>(
    'pharos_sessions_started_total',
    ENVIRONMENT_LABEL,
    (values) => metrics.sessionsStarted.labels(...values),
  );
  const exceptions = capped<CounterChild>('pharos_exceptions_total', OPEN_ENDED_LABEL, (values) =>
    metrics.exceptions.labels(...values),
  );
  const events = capped<CounterChild>('pharos_events_total', OPEN_ENDED_LABEL, (values) =>
    metrics.events.labels(...values),
  );

  const record = (batch: AcceptedBatch): void => {
    const { tenantId: tenant, appId: app, payload } = batch;
    const environment = environmentOf(tenant, payload.meta?.app?.environment);
    const env = environment.value;
    const pageUrl = payload.meta?.page?.url;
    let pageRoute: BoundedValue | undefined;
    const routeOf = (url: string | undefined): BoundedValue =>
      url === pageUrl
        ? (pageRoute ??= boundedValue(templateRoute(url)))
        : boundedValue(templateRoute(url));

    for (const measurement of payload.measurements ?? []) {
      if (measurement.type !== WEB_VITALS_TYPE || !measurement.values) continue;
      for (const { vital, series } of vitals) {
        // Only the vital's own value: `delta` and the attribution numbers are not page views.
        const sent = measurement.values[vital.name];
        if (sent === undefined || !Number.isFinite(sent) || sent < 0) continue;
        const value = sent / vital.divisor;
        const route = routeOf(pageUrl);
        const rating = ratingOf(vital, value, measurement.context?.rating);
        series(
          tenant,
          [app, env, route.value, rating],
          environment.replaced || route.replaced,
        ).observe(value);
      }
    }

    for (const exception of payload.exceptions ?? []) {
      const type = boundedValue(exception.type);
      exceptions(tenant, [app, env, type.value], environment.replaced || type.replaced).inc();
    }

    for (const event of payload.events ?? []) {
      const name = boundedValue(event.name);
      events(tenant, [app, env, name.value], environment.replaced || name.replaced).inc();
      if (event.name === PAGE_LOAD_EVENT) {
        const route = routeOf(loadedDocumentUrl(event) ?? pageUrl);
        pageLoads(tenant, [app, env, route.value], environment.replaced || route.replaced).inc();
      } else if (event.name === SESSION_START_EVENT) {
        sessionsStarted(tenant, [app, env], environment.replaced).inc();
      }
    }
  };

  const logFailure = throttledFailureLog(deps.logger);
  return {
    name: 'metrics',
    hasRoom: () => true,
    offer(batch) {
      try {
        record(batch);
      } catch (error) {
        logFailure(error, batch);
      }
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/**
 * The URL of the document a navigation event measured. Better than `meta.page.url`, which is the
 * page when the batch was sent: with a single-page app it may already be the next route.
 */
function loadedDocumentUrl(event: FaroEvent): string | undefined {
  const url = event.attributes?.name;
  return url === undefined || url === '' || url === FARO_MISSING_VALUE ? undefined : url;
}

function throttledFailureLog(logger: Logger) {
  let lastLoggedAt = -Infinity;
  let suppressed = 0;
  return (error: unknown, batch: AcceptedBatch): void => {
    const now = Date.now();
    if (now - lastLoggedAt < FAILURE_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    logger.error(
      { err: error, tenant: batch.tenantId, app: batch.appId, suppressed },
      'metrics sink could not record a batch; its metrics are skipped',
    );
    lastLoggedAt = now;
    suppressed = 0;
  };
}
