import { Registry } from 'prom-client';
import { nextTurn } from '../lib/next-turn.js';
import { TalliedCounter } from './tallied-counter.js';
import { TalliedHistogram } from './tallied-histogram.js';
import type { PromStringSource, TextExposition } from './tallied-series.js';

/** prom-client's Registry, with what its typings leave out (lib/registry.js, 15.x). */
interface RegistryInternals {
  readonly _defaultLabels?: object;
  getMetricsAsString(metric: PromStringSource | object): Promise<string>;
}

/**
 * `registry.metrics()` in pieces, for a scrape to stream: at 10,000 apps the text is ~20 MiB,
 * and rendering it whole took hundreds of milliseconds of event loop and a few copies of it in
 * memory (docs/performance.md, finding 30). Each metric is formatted by prom-client except the
 * tallied histograms and counters, which write their lines directly, a slice of series at a time;
 * the event loop turns between metrics and slices. Concatenated, the pieces are exactly what
 * prom-client writes. Falls back to prom-client, in one piece, for what Pharos does not use: the
 * OpenMetrics format and default labels.
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
    if (writesItself(metric)) yield* metric.expositionChunks(format);
    else yield await format(metric);
    await nextTurn();
  }
  yield '\n';
}

function writesItself(metric: object): metric is TextExposition {
  return metric instanceof TalliedHistogram || metric instanceof TalliedCounter;
}

/** `registry.metrics()`, from `metricsChunks`. */
export async function metricsText(registry: Registry): Promise<string> {
  const chunks: string[] = [];
  for await (const chunk of metricsChunks(registry)) chunks.push(chunk);
  return chunks.join('');
}
