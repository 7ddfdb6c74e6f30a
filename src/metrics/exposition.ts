import { Registry } from 'prom-client';
import { nextTurn } from '../lib/next-turn.js';
import { TalliedHistogram, type PromStringSource } from './tallied-histogram.js';

/** prom-client's Registry, with what its typings leave out (lib/registry.js, 15.x). */
interface RegistryInternals {
  readonly _defaultLabels?: object;
  getMetricsAsString(metric: PromStringSource | object): Promise<string>;
}

/**
 * `registry.metrics()`, with the tallied histograms written as text directly (see
 * `TalliedHistogram.exposition`) and every other metric formatted by prom-client, joined as
 * prom-client joins them. Falls back to prom-client for what Pharos does not use: the
 * OpenMetrics format and default labels.
 */
export async function metricsText(registry: Registry): Promise<string> {
  const internals = registry as unknown as RegistryInternals;
  const defaultLabels = internals._defaultLabels;
  if (
    registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE ||
    (defaultLabels !== undefined && Object.keys(defaultLabels).length > 0)
  ) {
    return Registry.prototype.metrics.call(registry);
  }
  const format = (metric: PromStringSource | object) => internals.getMetricsAsString(metric);
  // One metric at a time, with a turn of the event loop between them: at 10,000 apps the whole
  // text takes hundreds of milliseconds to write, which requests would otherwise wait for.
  const texts: (string | string[])[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    texts.push(
      metric instanceof TalliedHistogram ? await metric.exposition(format) : await format(metric),
    );
    await nextTurn();
  }
  // Joined once: at 10,000 apps the text is ~20 MiB, and each join copies all of it.
  const lines: string[] = [];
  for (const text of texts) {
    if (lines.length > 0) lines.push(''); // a blank line between metrics, as prom-client writes
    if (typeof text === 'string') lines.push(text);
    else for (const line of text) lines.push(line);
  }
  lines.push('');
  return lines.join('\n');
}
