import { Registry } from 'prom-client';
import { nextTurn } from '../lib/next-turn.js';
import { TalliedHistogram, type PromStringSource } from './tallied-histogram.js';

/** prom-client's Registry, with what its typings leave out (lib/registry.js, 15.x). */
interface RegistryInternals {
  readonly _defaultLabels?: object;
  getMetricsAsString(metric: PromStringSource | object): Promise<string>;
}

/**
 * `registry.metrics()` in pieces, for a scrape to stream: at 10,000 apps the text is ~20 MiB,
 * and rendering it whole took hundreds of milliseconds of event loop and a few copies of it in
 * memory (docs/performance.md, finding 30). Each metric is formatted by prom-client except the
 * tallied histograms, which write their lines directly, a slice of series at a time; the event
 * loop turns between metrics and slices. Concatenated, the pieces are exactly what prom-client
 * writes. Falls back to prom-client, in one piece, for what Pharos does not use: the OpenMetrics
 * format and default labels.
 */
export async function* metricsChunks(registry: Registry): AsyncGenerator<string> {
  const internals = registry as unknown as RegistryInternals;
  const defaultLabels = internals._defaultLabels;
  if (
    registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE ||
    (defaultLabels !== undefined && Object.keys(defaultLabels).length > 0)
  ) {
    yield await Registry.prototype.metrics.call(registry);
    return;
  }
  const format = (metric: PromStringSource | object) => internals.getMetricsAsString(metric);
  let first = true;
  for (const metric of registry.getMetricsAsArray()) {
    if (!first) yield '\n\n'; // prom-client's separator between metrics
    first = false;
    if (metric instanceof TalliedHistogram) yield* metric.expositionChunks(format);
    else yield await format(metric);
    await nextTurn();
  }
  yield '\n';
}

/** `registry.metrics()`, from `metricsChunks`. */
export async function metricsText(registry: Registry): Promise<string> {
  const chunks: string[] = [];
  for await (const chunk of metricsChunks(registry)) chunks.push(chunk);
  return chunks.join('');
}
