import { describe, expect, it } from 'vitest';
import { WEB_VITALS, rateVital, ratingOf, type VitalName } from './web-vitals.js';

const vital = (name: VitalName) => {
  const found = WEB_VITALS.find((definition) => definition.name === name);
  if (!found) throw new Error(`no vital ${name}`);
  return found;
};

describe('web-vitals definitions', () => {
  it.each([
    ['lcp', 'pharos_web_vitals_lcp_seconds', 2.5, 4],
    ['fcp', 'pharos_web_vitals_fcp_seconds', 1.8, 3],
    ['ttfb', 'pharos_web_vitals_ttfb_seconds', 0.8, 1.8],
    ['inp', 'pharos_web_vitals_inp_seconds', 0.2, 0.5],
    ['cls', 'pharos_web_vitals_cls', 0.1, 0.25],
  ] as const)('%s: %s, good ≤ %s, poor > %s', (name, metricName, good, poor) => {
    const definition = vital(name);
    expect(definition.metricName).toBe(metricName);
    expect(definition.thresholds).toEqual({ good, poor });
  });

  it.each(WEB_VITALS.map((definition) => [definition.name, definition] as const))(
    '%s buckets: increasing, both thresholds are bounds, resolution below, between and above',
    (_name, definition) => {
      const { buckets, thresholds } = definition;
      expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);
      expect(new Set(buckets).size).toBe(buckets.length);
      expect(buckets).toContain(thresholds.good);
      expect(buckets).toContain(thresholds.poor);
      expect(buckets.filter((bound) => bound < thresholds.good).length).toBeGreaterThanOrEqual(5);
      expect(
        buckets.filter((bound) => bound > thresholds.good && bound < thresholds.poor),
      ).toHaveLength(2);
      expect(buckets.filter((bound) => bound > thresholds.poor).length).toBeGreaterThanOrEqual(4);
      expect(buckets.at(-1)).toBeGreaterThanOrEqual(3 * thresholds.poor);
      expect(buckets).toHaveLength(15);
    },
  );

  it('converts milliseconds to seconds exactly at the thresholds', () => {
    for (const name of ['lcp', 'fcp', 'ttfb', 'inp'] as const) {
      const definition = vital(name);
      expect(definition.divisor).toBe(1000);
      expect((definition.thresholds.good * 1000) / definition.divisor).toBe(
        definition.thresholds.good,
      );
    }
    expect(vital('ttfb').buckets).toContain(1800 / 1000);
    expect(vital('cls').divisor).toBe(1);
  });
});

describe('ratings', () => {
  it.each([
    ['lcp', 2.5, 'good'],
    ['lcp', 2.501, 'needs-improvement'],
    ['lcp', 4, 'needs-improvement'],
    ['lcp', 4.001, 'poor'],
    ['inp', 0.2, 'good'],
    ['inp', 0.5, 'needs-improvement'],
    ['cls', 0, 'good'],
    ['cls', 0.25, 'needs-improvement'],
    ['cls', 0.26, 'poor'],
  ] as const)('%s %s is %s', (name, value, rating) => {
    expect(rateVital(vital(name), value)).toBe(rating);
  });

  it("keeps the SDK's rating when it is one of the three, else computes it", () => {
    const lcp = vital('lcp');
    expect(ratingOf(lcp, 1, 'poor')).toBe('poor');
    expect(ratingOf(lcp, 5, undefined)).toBe('poor');
    expect(ratingOf(lcp, 3, 'excellent')).toBe('needs-improvement');
    expect(ratingOf(lcp, 1, '')).toBe('good');
  });
});
