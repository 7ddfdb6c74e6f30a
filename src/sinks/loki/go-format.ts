/**
 * Go's formatting of the values that appear in Alloy's Loki lines, reproduced byte for byte:
 * `time.Time.String()`, `fmt` `%v` and `%f` of a float64, `encoding/json` numbers, and the byte-wise
 * string order of `sort.Strings`. Each one differs from the JavaScript built-in in some corner,
 * and those corners are why this file exists (see the tests for each).
 */

/** `time.Time{}.String()`: what Alloy prints for an item without a timestamp. */
export const GO_ZERO_TIME = '0001-01-01 00:00:00 +0000 UTC';

/**
 * RFC 3339 as the decode stage's validator (ajv-formats `date-time`) accepts it. Go accepts only
 * `T`, `Z` and `±hh:mm`; the lowercase and colon-less variants that ajv also lets through are
 * read the same way, since Alloy would have refused them and so has no output to match.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?)$/;

export interface CivilTime {
  readonly date: string;
  readonly time: string;
  /** Up to nine digits, as written (Go truncates further digits). */
  readonly fraction: string;
  /** Offset east of UTC in minutes; 0 for `Z`. */
  readonly offsetMinutes: number;
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export function parseRfc3339(text: string): CivilTime | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, year = '', month = '', day = '', hour = '', minute = '', second = ''] = m;
  const sign = m[8];
  const offsetMinutes =
    sign === undefined
      ? 0
      : (sign === '-' ? -1 : 1) * (Number(m[9] ?? '0') * 60 + Number(m[10] ?? '0'));
  return {
    date: `${year}-${month}-${day}`,
    time: `${hour}:${minute}:${second}`,
    fraction: (m[7] ?? '').slice(0, 9),
    offsetMinutes,
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second),
  };
}

/**
 * Go's `time.Time.String()` (layout `2006-01-02 15:04:05.999999999 -0700 MST`) of a timestamp as
 * `encoding/json` parses it: trailing zeros of the fraction trimmed, no fraction when it is zero.
 * The time is printed in the zone it was written in. A zero offset prints `+0000 UTC`; any other
 * offset gets a fixed zone without a name, which Go prints as the offset twice (`+0200 +0200`).
 * That is Alloy on a host whose local zone is UTC (the container default): there, `+00:00`
 * resolves to the local zone, named `UTC`.
 */
export function goTimeString(timestamp: string | undefined): string {
  if (timestamp === undefined) return GO_ZERO_TIME;
  const civil = parseRfc3339(timestamp);
  if (!civil) return GO_ZERO_TIME;
  const fraction = civil.fraction.replace(/0+$/, '');
  const dot = fraction === '' ? '' : `.${fraction}`;
  return `${civil.date} ${civil.time}${dot} ${goZone(civil.offsetMinutes)}`;
}

function goZone(offsetMinutes: number): string {
  if (offsetMinutes === 0) return '+0000 UTC';
  const abs = Math.abs(offsetMinutes);
  const numeric = `${offsetMinutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
  return `${numeric} ${numeric}`;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Days from 1970-01-01 to a proleptic Gregorian date (any year, unlike `Date.UTC` below 100). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** Seconds and nanoseconds since the Unix epoch, or undefined when the text is not RFC 3339. */
export function rfc3339ToEpoch(text: string): { seconds: number; nanos: number } | undefined {
  const civil = parseRfc3339(text);
  if (!civil) return undefined;
  const seconds =
    daysFromCivil(civil.year, civil.month, civil.day) * 86_400 +
    civil.hour * 3600 +
    civil.minute * 60 +
    civil.second -
    civil.offsetMinutes * 60;
  return { seconds, nanos: Number(civil.fraction.padEnd(9, '0')) };
}

/**
 * `fmt.Sprint(float64)`, that is `%v`: the shortest digits that read back as the same float, in
 * `%e` form when the exponent is below -4 or at least 6 (`1e+06`, `1.234567e+06`, `1e-05`), in
 * `%f` form otherwise (`14`, `22.12`, `123456`). JavaScript switches only at 1e21 and 1e-7.
 */
export function goFormatFloatV(x: number): string {
  if (!Number.isFinite(x)) return goNonFinite(x);
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const exponential = x.toExponential(); // shortest round-trip digits, like Go's
  const e = exponential.indexOf('e');
  const exponent = Number(exponential.slice(e + 1));
  if (exponent >= -4 && exponent < 6) return String(x); // plain decimal, same digits
  const sign = exponent < 0 ? '-' : '+';
  const digits = String(Math.abs(exponent));
  return `${exponential.slice(0, e)}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}

/**
 * `fmt.Sprintf("%f", float64)`: six decimals, correctly rounded, ties to even (JavaScript's
 * `toFixed` breaks ties away from zero), `-0.000000` for negative zero, and all the digits of a
 * huge number where `toFixed` switches to exponent form.
 */
export function goFormatFloatF(x: number): string {
  if (!Number.isFinite(x)) return goNonFinite(x);
  if (Object.is(x, -0)) return '-0.000000';
  if (Math.abs(x) >= 1e21) return `${BigInt(x).toString()}.000000`; // an integer at this size
  // x * 1e6 ends in exactly .5 only when x is an odd multiple of 1/128 (a double is a dyadic
  // rational, and 1e6 = 2^6 * 5^6): then x has exactly seven decimals and Go rounds to even.
  const scaled = x * 128; // exact: a power-of-two scaling
  if (Number.isInteger(scaled) && Math.abs(scaled % 2) === 1) {
    const truncated = x.toFixed(7).slice(0, -1);
    const lastDigit = truncated.charCodeAt(truncated.length - 1) - 48;
    if (lastDigit % 2 === 0) return truncated;
  }
  return x.toFixed(6);
}

function goNonFinite(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  return x > 0 ? '+Inf' : '-Inf';
}

/**
 * A float64 as Go's `encoding/json` writes it: the shortest digits, exponent form below 1e-6 and
 * from 1e21 (exactly JavaScript's rule), and `-0` for negative zero (which JavaScript prints `0`).
 * JSON cannot carry NaN or infinities, so they never reach here from a payload.
 */
export function goJsonNumber(x: number): string {
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

/**
 * Go's string order (`sort.Strings`, map keys in `encoding/json`): byte-wise on UTF-8, which is
 * code point order. JavaScript's `<` compares UTF-16 code units, which differs only when a
 * surrogate (a code point above U+FFFF) meets a code unit from U+E000 to U+FFFF.
 */
export function compareGoStrings(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) return codePointRank(ca) - codePointRank(cb);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * The string as Go holds it after `encoding/json` decoded it: a lone surrogate (from a `\ud800`
 * escape) becomes U+FFFD. Cheap when there is no surrogate at all, which is almost always.
 */
export function goString(value: string): string {
  if (!SURROGATE.test(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += value.slice(i, i + 2);
        i++;
        continue;
      }
      out += '\ufffd';
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      out += '\ufffd';
    } else {
      out += value.charAt(i);
    }
  }
  return out;
}
