/**
 * The Core Web Vitals Pharos turns into histograms, with their thresholds and buckets.
 *
 * Bucket design, the same for every vital:
 * - both thresholds are bucket boundaries, so the share of good (or poor) page views is exact, not
 *   interpolated: `sum(rate(pharos_web_vitals_lcp_seconds_bucket{le="2.5"}[5m])) / sum(rate(pharos_web_vitals_lcp_seconds_count[5m]))`;
 * - 5 to 7 boundaries below the good threshold, where most page views of a healthy site fall and
 *   where the p75 that dashboards show usually lies;
 * - 2 boundaries strictly between the thresholds (3 buckets), so a p75 that drifts from good
 *   towards poor is visible before it crosses;
 * - 4 to 6 boundaries above poor, up to 4–8× the poor threshold; beyond that, `+Inf` (how bad a
 *   very bad page is matters less than that it is bad).
 * 15 boundaries each: one label set costs 18 series (15 buckets, `+Inf`, `_sum`, `_count`).
 *
 * Thresholds and the rating rule are those of the `web-vitals` library the Faro SDK uses
 * (`value > poor` ⇒ poor, `value > good` ⇒ needs-improvement, else good), so Prometheus's
 * inclusive `le` bounds agree with the SDK's ratings.
 */

export const VITAL_NAMES = ['lcp', 'fcp', 'ttfb', 'inp', 'cls'] as const;
export type VitalName = (typeof VITAL_NAMES)[number];

export const RATINGS = ['good', 'needs-improvement', 'poor'] as const;
export type Rating = (typeof RATINGS)[number];

export interface VitalDefinition {
  /** Key of the vital's own value in a `web-vitals` measurement's `values` (`values.lcp`). */
  readonly name: VitalName;
  readonly metricName: string;
  readonly help: string;
  /**
   * SDK value / `divisor` = metric value: 1000 for milliseconds → seconds, 1 for CLS. A division,
   * not a multiplication by 0.001, so that 1800 ms is exactly the bound 1.8 (correctly rounded).
   */
  readonly divisor: number;
  /** In the metric's unit: good ≤ `good` < needs-improvement ≤ `poor` < poor. */
  readonly thresholds: { readonly good: number; readonly poor: number };
  /** Upper bounds in the metric's unit, increasing; both thresholds are among them. */
  readonly buckets: readonly number[];
}

const MS_PER_SECOND = 1000;

export const WEB_VITALS: readonly VitalDefinition[] = [
  {
    name: 'lcp',
    metricName: 'pharos_web_vitals_lcp_seconds',
    help: 'Largest Contentful Paint of page views (good ≤ 2.5 s, poor > 4 s).',
    divisor: MS_PER_SECOND,
    thresholds: { good: 2.5, poor: 4 },
    buckets: [0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 10, 15],
  },
  {
    name: 'fcp',
    metricName: 'pharos_web_vitals_fcp_seconds',
    help: 'First Contentful Paint of page views (good ≤ 1.8 s, poor > 3 s).',
    divisor: MS_PER_SECOND,
    thresholds: { good: 1.8, poor: 3 },
    buckets: [0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.5, 1.8, 2.2, 2.6, 3, 4, 5, 7, 10],
  },
  {
    name: 'ttfb',
    metricName: 'pharos_web_vitals_ttfb_seconds',
    help: 'Time To First Byte of page views (good ≤ 0.8 s, poor > 1.8 s).',
    divisor: MS_PER_SECOND,
    thresholds: { good: 0.8, poor: 1.8 },
    buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.1, 1.4, 1.8, 2.5, 3.5, 5, 8],
  },
  {
    name: 'inp',
    metricName: 'pharos_web_vitals_inp_seconds',
    help: 'Interaction to Next Paint of page views (good ≤ 200 ms, poor > 500 ms).',
    divisor: MS_PER_SECOND,
    thresholds: { good: 0.2, poor: 0.5 },
    buckets: [0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3],
  },
  {
    name: 'cls',
    metricName: 'pharos_web_vitals_cls',
    help: 'Cumulative Layout Shift of page views, unitless (good ≤ 0.1, poor > 0.25).',
    divisor: 1,
    thresholds: { good: 0.1, poor: 0.25 },
    // `0` first: many pages never shift, and a zero bucket keeps their quantiles exactly 0
    // instead of interpolated between 0 and the next bound.
    buckets: [0, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1, 1.5, 2],
  },
];

const RATING_SET: ReadonlySet<string> = new Set(RATINGS);

/** The rating of a value (in the metric's unit), as the `web-vitals` library computes it. */
export function rateVital(vital: VitalDefinition, value: number): Rating {
  if (value > vital.thresholds.poor) return 'poor';
  if (value > vital.thresholds.good) return 'needs-improvement';
  return 'good';
}

/**
 * The SDK's own `context.rating` when it is one of the three, else the rating computed from the
 * value: hand-written senders may leave it out or send anything, and the label must stay closed.
 */
export function ratingOf(
  vital: VitalDefinition,
  value: number,
  sentRating: string | undefined,
): Rating {
  return sentRating !== undefined && RATING_SET.has(sentRating)
    ? (sentRating as Rating)
    : rateVital(vital, value);
}
