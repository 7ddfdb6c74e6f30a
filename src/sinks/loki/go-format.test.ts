import { describe, expect, it } from 'vitest';
import {
  GO_ZERO_TIME,
  compareGoStrings,
  goFormatFloatF,
  goFormatFloatV,
  goJsonNumber,
  goString,
  goTimeString,
  rfc3339ToEpoch,
} from './go-format.js';

// Expected values were produced by Go itself (fmt, time, encoding/json) and are embedded here.

describe('goTimeString: Go time.Time.String() of an RFC 3339 timestamp', () => {
  it.each([
    ['2021-09-30T10:46:17.680Z', '2021-09-30 10:46:17.68 +0000 UTC'],
    ['2021-01-01T00:00:00Z', '2021-01-01 00:00:00 +0000 UTC'],
    ['2021-01-01T00:00:00.000Z', '2021-01-01 00:00:00 +0000 UTC'],
    ['2021-01-01T00:00:00.100Z', '2021-01-01 00:00:00.1 +0000 UTC'],
    ['2021-01-01T00:00:00.123Z', '2021-01-01 00:00:00.123 +0000 UTC'],
    ['2021-01-01T00:00:00.123456Z', '2021-01-01 00:00:00.123456 +0000 UTC'],
    ['2021-01-01T00:00:00.123456789Z', '2021-01-01 00:00:00.123456789 +0000 UTC'],
    ['2021-01-01T00:00:00.000000001Z', '2021-01-01 00:00:00.000000001 +0000 UTC'],
    // Go keeps nine digits and drops the rest (it does not round).
    ['2021-01-01T00:00:00.1234567899Z', '2021-01-01 00:00:00.123456789 +0000 UTC'],
    ['2021-01-01T00:00:00+02:00', '2021-01-01 00:00:00 +0200 +0200'],
    ['2021-01-01T00:00:00.5-05:30', '2021-01-01 00:00:00.5 -0530 -0530'],
    ['2021-01-01T00:00:00+00:00', '2021-01-01 00:00:00 +0000 UTC'],
    ['2021-01-01T00:00:00-00:00', '2021-01-01 00:00:00 +0000 UTC'],
    ['0000-01-01T00:00:00Z', '0000-01-01 00:00:00 +0000 UTC'],
    ['2026-11-25T02:25:37.597Z', '2026-11-25 02:25:37.597 +0000 UTC'],
  ])('%s → %s', (input, expected) => {
    expect(goTimeString(input)).toBe(expected);
  });

  it('prints the zero time for a missing timestamp', () => {
    expect(goTimeString(undefined)).toBe('0001-01-01 00:00:00 +0000 UTC');
    expect(GO_ZERO_TIME).toBe('0001-01-01 00:00:00 +0000 UTC');
  });

  it('reads the variants the validator admits (Go has no output for them) like their canonical form', () => {
    expect(goTimeString('2021-01-01t00:00:00.5z')).toBe('2021-01-01 00:00:00.5 +0000 UTC');
    expect(goTimeString('2021-01-01 00:00:00+0200')).toBe('2021-01-01 00:00:00 +0200 +0200');
  });
});

describe('rfc3339ToEpoch', () => {
  it('gives seconds and nanoseconds since the epoch, offsets applied', () => {
    expect(rfc3339ToEpoch('1970-01-01T00:00:00Z')).toEqual({ seconds: 0, nanos: 0 });
    expect(rfc3339ToEpoch('2021-09-30T10:46:17.680Z')).toEqual({
      seconds: Date.UTC(2021, 8, 30, 10, 46, 17) / 1000,
      nanos: 680_000_000,
    });
    expect(rfc3339ToEpoch('2021-09-30T12:46:17.123456789+02:00')).toEqual({
      seconds: Date.UTC(2021, 8, 30, 10, 46, 17) / 1000,
      nanos: 123_456_789,
    });
    expect(rfc3339ToEpoch('2000-02-29T23:59:59-00:30')?.seconds).toBe(
      Date.UTC(2000, 2, 1, 0, 29, 59) / 1000,
    );
    expect(rfc3339ToEpoch('not a time')).toBeUndefined();
  });
});

describe('goFormatFloatV: fmt.Sprint(float64)', () => {
  it.each([
    [14, '14'],
    [22.12, '22.12'],
    [1e21, '1e+21'],
    [1e-5, '1e-05'],
    [1e6, '1e+06'],
    [123456, '123456'],
    [1234567, '1.234567e+06'],
    [0.0001, '0.0001'],
    [0.1, '0.1'],
    [0, '0'],
    [-0, '-0'],
    [2.5, '2.5'],
    [1e20, '1e+20'],
    [1e-7, '1e-07'],
    [1.5e300, '1.5e+300'],
    [5e-324, '5e-324'],
    [232.30000000004657, '232.30000000004657'],
    [-123.456, '-123.456'],
    [-1234567.5, '-1.2345675e+06'],
  ])('%s → %s', (input, expected) => {
    expect(goFormatFloatV(input)).toBe(expected);
  });
});

describe('goFormatFloatF: fmt.Sprintf("%f", float64)', () => {
  it.each([
    [14, '14.000000'],
    [22.12, '22.120000'],
    [0.1, '0.100000'],
    [1e21, '1000000000000000000000.000000'],
    [1e-5, '0.000010'],
    [1e-7, '0.000000'],
    [-0, '-0.000000'],
    [-1e-7, '-0.000000'],
    [5e-324, '0.000000'],
    // Exact ties: Go rounds half to even, JavaScript's toFixed away from zero.
    [0.0078125, '0.007812'],
    [0.0234375, '0.023438'],
    [-0.0078125, '-0.007812'],
    [2.5, '2.500000'],
    [1.0000005, '1.000001'],
    [999999.9999999, '1000000.000000'],
    [51.699999999953434, '51.700000'],
    [
      1.5e300,
      '1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240.000000',
    ],
  ])('%s → %s', (input, expected) => {
    expect(goFormatFloatF(input)).toBe(expected);
  });

  it('treats every odd multiple of 1/128 as a tie, and nothing else', () => {
    // 4020.953125 = 514682/128 has six decimals: no tie. 3/128 = 0.0234375 is one.
    expect(goFormatFloatF(4020.953125)).toBe('4020.953125');
    expect(goFormatFloatF(3 / 128)).toBe('0.023438');
    expect(goFormatFloatF(5 / 128)).toBe('0.039062');
  });
});

describe('goJsonNumber: encoding/json of a float64', () => {
  it.each([
    [14, '14'],
    [22.12, '22.12'],
    [1e21, '1e+21'],
    [1e20, '100000000000000000000'],
    [1e-5, '0.00001'],
    [1e-6, '0.000001'],
    [1e-7, '1e-7'],
    [5e-7, '5e-7'],
    [-0, '-0'],
    [0, '0'],
    [1.5e300, '1.5e+300'],
  ])('%s → %s', (input, expected) => {
    expect(goJsonNumber(input)).toBe(expected);
  });
});

describe('compareGoStrings: byte-wise UTF-8 order', () => {
  it('sorts uppercase before lowercase and by code point', () => {
    expect(['b', 'a', 'B', 'é', 'A_', 'a_b', 'ab'].sort(compareGoStrings)).toEqual([
      'A_',
      'B',
      'a',
      'a_b',
      'ab',
      'b',
      'é',
    ]);
  });

  it('puts astral characters after U+E000–U+FFFF, unlike UTF-16 order', () => {
    const astral = '\u{1d538}'; // 𝔸, surrogates D835 DD38
    const high = '\uffee';
    expect([astral, high].sort()).toEqual([astral, high]); // JavaScript: by code unit
    expect([astral, high].sort(compareGoStrings)).toEqual([high, astral]);
  });
});

describe('goString', () => {
  it('replaces lone surrogates with U+FFFD and keeps pairs', () => {
    expect(goString('a\ud800b')).toBe('a\ufffdb');
    expect(goString('\udc00')).toBe('\ufffd');
    expect(goString('😀')).toBe('😀');
    expect(goString('plain')).toBe('plain');
  });
});
