import { describe, expect, it } from 'vitest';
import { MAX_LABEL_VALUE_LENGTH, boundedValue, createValueCap } from './label-values.js';
import { createSeriesCap } from './series-cap.js';

/** A cap whose children are their label values joined, and which records the overflows. */
function recordingCap(maxSeriesPerTenant: number, maxSeries?: number) {
  const created: string[] = [];
  const overflows: string[] = [];
  const cap = createSeriesCap({
    maxSeriesPerTenant,
    ...(maxSeries !== undefined ? { maxSeries } : {}),
    cappedLabel: 1,
    child: (values) => {
      const name = values.join(',');
      created.push(name);
      return name;
    },
    onOverflow: (tenant) => overflows.push(tenant),
  });
  return { cap, created, overflows };
}

describe('series cap', () => {
  it('admits label sets up to the cap, then records new ones as "other"', () => {
    const { cap, created, overflows } = recordingCap(3);
    expect(cap('acme', ['shop', '/a'])).toBe('acme,shop,/a');
    expect(cap('acme', ['shop', '/b'])).toBe('acme,shop,/b');
    expect(cap('acme', ['shop', '/c'])).toBe('acme,shop,/c');
    expect(overflows).toEqual([]);

    expect(cap('acme', ['shop', '/d'])).toBe('acme,shop,other');
    expect(cap('acme', ['shop', '/e'])).toBe('acme,shop,other');
    expect(cap('acme', ['blog', '/e'])).toBe('acme,blog,other');
    // Every observation sent to "other" counts, not only the first of a label set.
    expect(overflows).toEqual(['acme', 'acme', 'acme']);

    // Label sets admitted before the cap keep being recorded as they are, without overflow.
    expect(cap('acme', ['shop', '/a'])).toBe('acme,shop,/a');
    expect(overflows).toHaveLength(3);
    // One child per label set: the fallback is created once and reused.
    expect(created).toEqual([
      'acme,shop,/a',
      'acme,shop,/b',
      'acme,shop,/c',
      'acme,shop,other',
      'acme,blog,other',
    ]);
  });

  it('keeps one cap per tenant: a full tenant never takes series from another', () => {
    const { cap, overflows } = recordingCap(2);
    for (let i = 0; i < 100; i++) cap('noisy', ['shop', `/page/${i}`]);
    expect(overflows).toHaveLength(98);

    expect(cap('quiet', ['shop', '/a'])).toBe('quiet,shop,/a');
    expect(cap('quiet', ['shop', '/b'])).toBe('quiet,shop,/b');
    expect(overflows.filter((tenant) => tenant === 'quiet')).toEqual([]);
  });

  it('stops growing with the apps past the cap of all tenants: app and route become "other"', () => {
    const { cap, created, overflows } = recordingCap(1000, 3);
    for (let app = 0; app < 3; app++) cap(`t${app}`, [`app-${app}`, '/a']);
    expect(overflows).toEqual([]);
    // 10,000 more apps in 100 tenants: one fallback series per tenant, not one per app.
    for (let app = 3; app < 10_000; app++) {
      expect(cap(`t${app % 100}`, [`app-${app}`, '/a'])).toBe(`t${app % 100},other,other`);
    }
    expect(created).toHaveLength(3 + 100);
    expect(overflows).toHaveLength(10_000 - 3);
    // Series admitted before the cap keep their labels.
    expect(cap('t1', ['app-1', '/a'])).toBe('t1,app-1,/a');
  });

  it('counts an observation whose value was already replaced upstream', () => {
    const { cap, overflows } = recordingCap(10);
    expect(cap('acme', ['shop', 'other'], true)).toBe('acme,shop,other');
    expect(cap('acme', ['shop', 'other'], true)).toBe('acme,shop,other');
    expect(overflows).toEqual(['acme', 'acme']);
  });
});

describe('label values', () => {
  it('names absent values "unknown" and over-long ones "other"', () => {
    expect(boundedValue(undefined)).toEqual({ value: 'unknown', replaced: false });
    expect(boundedValue('')).toEqual({ value: 'unknown', replaced: false });
    expect(boundedValue('TypeError')).toEqual({ value: 'TypeError', replaced: false });
    expect(boundedValue('x'.repeat(MAX_LABEL_VALUE_LENGTH)).replaced).toBe(false);
    expect(boundedValue('x'.repeat(MAX_LABEL_VALUE_LENGTH + 1))).toEqual({
      value: 'other',
      replaced: true,
    });
  });

  it('keeps the first values of a tenant and replaces later new ones by "other"', () => {
    const environmentOf = createValueCap(2);
    expect(environmentOf('acme', 'production').value).toBe('production');
    expect(environmentOf('acme', 'staging').value).toBe('staging');
    expect(environmentOf('acme', 'preview-123')).toEqual({ value: 'other', replaced: true });
    expect(environmentOf('acme', 'production').value).toBe('production');
    // "unknown" is not a value the sender chose, so it takes no place.
    expect(environmentOf('acme', undefined)).toEqual({ value: 'unknown', replaced: false });
    // Another tenant has its own places.
    expect(environmentOf('globex', 'preview-123').value).toBe('preview-123');
  });
});
