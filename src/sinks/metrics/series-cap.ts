import { OTHER } from './label-values.js';

export interface SeriesCapOptions<Child> {
  /** Distinct label sets one tenant may create in this metric. */
  readonly maxSeriesPerTenant: number;
  /**
   * Distinct label sets all tenants together may create in this metric (default: no limit). Past
   * it, new label sets lose their `app` as well as their open-ended label.
   */
  readonly maxSeries?: number;
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

/** Position of `app` among the labels after `tenant`: first in every family. */
const APP_LABEL = 0;

/**
 * The series of one metric, with a cap on the distinct label sets of each tenant, so that one
 * tenant's explosion of routes never costs another tenant a series, and a cap on all of them, so
 * that many apps cannot make `/metrics` (and the memory behind it) grow without bound.
 *
 * Below the caps every new label set is admitted. Past the tenant's, a new label set is recorded
 * with its open-ended label replaced by `other` (the other labels kept, so
 * `environment="production"` views still count it) and `onOverflow` is called for every such
 * observation. These fallback sets are admitted beyond the cap; they are bounded by the tenant's
 * apps × environments (capped too) × ratings, which are all closed sets. Past the cap of all
 * tenants, the `app` label becomes `other` too, so the fallback sets are bounded by tenants ×
 * environments × ratings: with 10,000 apps the series stop growing with the apps. Known label
 * sets keep being recorded as before.
 *
 * Children are kept here, so the hot path is one Map lookup instead of prom-client hashing the
 * label values on every observation.
 */
export function createSeriesCap<Child>(options: SeriesCapOptions<Child>): SeriesCap<Child> {
  const byTenant = new Map<string, Map<string, Child>>();
  const maxSeries = options.maxSeries ?? Infinity;
  /** Label sets admitted below the caps, all tenants together (fallback sets not counted). */
  let admitted = 0;

  return (tenant: string, labels: readonly string[], replaced = false): Child => {
    let series = byTenant.get(tenant);
    if (!series) byTenant.set(tenant, (series = new Map<string, Child>()));

    const key = labels.join('\u0000');
    const known = series.get(key);
    if (known !== undefined) {
      if (replaced) options.onOverflow(tenant);
      return known;
    }
    const globalRoom = admitted < maxSeries;
    if (globalRoom && series.size < options.maxSeriesPerTenant) {
      if (replaced) options.onOverflow(tenant);
      admitted++;
      return admit(series, key, tenant, labels);
    }

    options.onOverflow(tenant);
    const fallback = labels.slice();
    fallback[options.cappedLabel] = OTHER;
    if (!globalRoom) fallback[APP_LABEL] = OTHER;
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
