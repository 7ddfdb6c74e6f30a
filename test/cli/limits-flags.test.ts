import { describe, expect, it } from 'vitest';
import { applyLimitFlags, clearLimits, formatRate, parseRate } from '../../src/cli/limits-flags.js';

describe('limit flags of `pharos limits set|clear`', () => {
  it('reads rates per second, minute and hour, bytes with units, and bursts', () => {
    expect(parseRate('100/s', 'requests')).toEqual({ perSecond: 100, burst: 100 });
    expect(parseRate('6000/m', 'items')).toEqual({ perSecond: 100, burst: 100 });
    expect(parseRate('36/h', 'items')).toEqual({ perSecond: 0.01, burst: 1 });
    expect(parseRate('100/s:250', 'requests')).toEqual({ perSecond: 100, burst: 250 });
    expect(parseRate('100/s', 'requests', 200)).toEqual({ perSecond: 100, burst: 200 });
    expect(parseRate('5MiB/s:10MiB', 'bytes')).toEqual({
      perSecond: 5 * 1024 * 1024,
      burst: 10 * 1024 * 1024,
    });
  });

  it('explains a rate it cannot read', () => {
    for (const bad of ['fast', '100', '100/week', '0/s', '-5/s', '10/s:0', '10/s:1.5']) {
      expect(() => parseRate(bad, 'requests'), bad).toThrow(/--requests/);
    }
  });

  it('sets only the named limits, --burst for those without one of their own', () => {
    const current = { items: { perSecond: 1, burst: 1 } };
    expect(
      applyLimitFlags(current, {
        requests: '100/s',
        kind: ['log=50/s:60', 'span=10/s'],
        burst: '200',
      }),
    ).toEqual({
      items: { perSecond: 1, burst: 1 },
      requests: { perSecond: 100, burst: 200 },
      kinds: { log: { perSecond: 50, burst: 60 }, span: { perSecond: 10, burst: 200 } },
    });
    expect(current).toEqual({ items: { perSecond: 1, burst: 1 } });
    expect(() => applyLimitFlags({}, {})).toThrow(/name a limit/);
    expect(() => applyLimitFlags({}, { kind: ['logs=1/s'] })).toThrow(/expected one of log/);
    expect(() => applyLimitFlags({}, { requests: '1/s', burst: 'lots' })).toThrow(/--burst/);
  });

  it('clears the named limits, or all', () => {
    const current = {
      requests: { perSecond: 1, burst: 1 },
      items: { perSecond: 1, burst: 1 },
      kinds: { log: { perSecond: 1, burst: 1 } },
    };
    expect(clearLimits(current, { requests: true, kind: ['log'] })).toEqual({
      items: { perSecond: 1, burst: 1 },
    });
    expect(clearLimits(current, {})).toEqual({});
  });

  it('prints a rate as it reads', () => {
    expect(formatRate({ perSecond: 100, burst: 200 })).toBe('100/s burst 200');
    expect(formatRate(undefined)).toBe('-');
  });
});
