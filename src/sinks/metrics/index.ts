export {
  DEFAULT_MAX_ENVIRONMENTS_PER_TENANT,
  DEFAULT_MAX_SERIES_PER_TENANT,
  createMetricsSink,
} from './metrics-sink.js';
export type { MetricsSink, MetricsSinkDeps, MetricsSinkOptions } from './metrics-sink.js';
export { parseRoutePattern, parseRoutePatterns } from './route-patterns.js';
export { createRouteTemplater, UNKNOWN_ROUTE } from './route-template.js';
export type { RouteTemplater } from './route-template.js';
export { createRumMetrics } from './rum-metrics.js';
export type { RumMetrics } from './rum-metrics.js';
export { WEB_VITALS } from './web-vitals.js';
export type { Rating, VitalDefinition, VitalName } from './web-vitals.js';
