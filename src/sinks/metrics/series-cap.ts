import { OTHER } from './label-values.js';

export interface SeriesCapOptions<Child> {
  /** Distinct label sets one tenant may create in this metric. */
  readonly maxSeriesPerTenant: number;
  /**
   * Position, among the labels after `tenant`, of the open-ended label (`route`, `type`, `name`)
   * that becomes `other` past the cap.
   */
  readonly cappedLabel: number;
  /** The metric's child for these label values (`tenant` first), e.g. `histogram.labels(...)`. */
  readonly child: (labelValues: string[]) => Child;
  /** An observation went to a label set with `other` in it. */
  readonly onOverflow: (tenant: string) => void;
}

/**
 * The child for `tenant` and the other label values, in the metric's label order. `replaced`: a
 * value was already replaced by `other` upstream (too long, environment cap), so the observation
 * counts as an overflow even when its label set is known.
 */
export type SeriesCap<Child> = (
  tenant: string,
  labels: readonly string[],
  replaced?: boolean,
) => Child;

/**
 * The series of one metric, with a cap on the distinct label sets of each tenant, so that one
 * tenant's explosion of routes never costs another tenant a series.
 *
 * Below the cap every new label set is admitted. Past it, a new label set is recorded with its
 * open-ended label replaced by `other` (the other labels kept, so `environment="production"`
 * views still count it) and `onOverflow` is called for every such observation. These fallback sets
 * are admitted beyond the cap; they are bounded by the tenant's apps × environments (capped
 * too) × ratings, which are all closed sets. Known label sets keep being recorded as before.
 *
 * Children are kept here, so the hot path is one Map lookup instead of prom-client hashing the
 * label values on every observation.
 */
export function createSeriesCap<Child>(options: SeriesCapOptions<Child>): SeriesCap<Child> {
  const byTenant = new Map<string, Map<string, Child>>();

  return (tenant: string, labels: readonly string[], replaced = false): Child => {
    let series = byTenant.get(tenant);
    if (!series) byTenant.set(tenant, (series = new Map<string, Child>()));

    const key = labels.join('\u0000');
    const known = series.get(key);
    if (known !== undefined || series.size < options.maxSeriesPerTenant) {
      if (replaced) options.onOverflow(tenant);
      return known ?? admit(series, key, tenant, labels);
    }

    options.onOverflow(tenant);
    const fallback = labels.slice();
    fallback[options.cappedLabel] = OTHER;
    const fallbackKey = fallback.join('\u0000');
    return series.get(fallbackKey) ?? admit(series, fallbackKey, tenant, fallback);
  };

  function admit(
    series: Map<string, Child>,
    key: string,
    tenant: string,
    labels: readonly string[],
  ): Child {
    const child = options.child([tenant, ...labels]);
    series.set(key, child);
    return child;
  }
}
