import { goFormatFloatV, goString } from './go-format.js';

/**
 * The logfmt encoder of Alloy's lines, go-logfmt v0.6.1 `MarshalKeyvals` byte for byte:
 *
 * - keys lose every character `<= ' '`, `=`, `"`, DEL and U+FFFD (`context_my key` is written
 *   `context_mykey`);
 * - a string value is quoted when it contains one of those characters, and so is the string
 *   `null` (Alloy never writes an empty value: it skips empty strings);
 * - inside quotes `\\`, `\"`, `\n`, `\r`, `\t` are escaped, other control characters and DEL
 *   become `\u00XX`, U+FFFD becomes `\ufffd`; everything else is written raw (UTF-8);
 * - numbers (the `value_*` keys) are written with `fmt.Sprint`, never quoted.
 *
 * Pairs are separated by one space, with no trailing newline.
 */

/* eslint-disable no-control-regex -- control characters are exactly what these match */
/** Characters that make go-logfmt quote a value, or drop them from a key (plus surrogates: see goString). */
const SPECIAL = /[\u0000-\u0020="\u007f\ufffd\ud800-\udfff]/;
const KEY_DROPPED = /[\u0000-\u0020="\u007f\ufffd]/g;
const NEEDS_QUOTES = /[\u0000-\u0020="\u007f\ufffd]/;
const ESCAPED_IN_QUOTES = /[\u0000-\u001f"\\\u007f\ufffd]/g;
/* eslint-enable no-control-regex */

export type LogfmtValue = string | number;

/**
 * One `key=value` pair, or undefined when the key is empty once sanitised: go-logfmt then fails
 * the whole record with `invalid key` and Alloy drops the item. Pharos drops only that pair (a
 * measurement value named `""` or `" "` is the one way to get there).
 */
export function logfmtPair(key: string, value: LogfmtValue): string | undefined {
  const cleanKey = logfmtKey(key);
  if (cleanKey === '') return undefined;
  return `${cleanKey}=${typeof value === 'number' ? goFormatFloatV(value) : logfmtValue(value)}`;
}

export function logfmtKey(key: string): string {
  if (!SPECIAL.test(key)) return key;
  return goString(key).replace(KEY_DROPPED, '');
}

export function logfmtValue(value: string): string {
  if (value === 'null') return '"null"';
  if (!SPECIAL.test(value)) return value;
  const text = goString(value);
  if (!NEEDS_QUOTES.test(text)) return text; // only valid surrogate pairs (astral characters)
  return `"${text.replace(ESCAPED_IN_QUOTES, escapeInQuotes)}"`;
}

function escapeInQuotes(char: string): string {
  switch (char) {
    case '"':
      return '\\"';
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\ufffd':
      return '\\ufffd';
    default:
      return `\\u00${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
}

/**
 * The whole line: pairs in the map's insertion order. Joined rather than appended: appending makes
 * a rope of ~2 string objects per pair, which lives as long as the line waits for its push (up to
 * a second, so it is promoted and traced); `join` makes one flat string.
 */
export function encodeLogfmt(keyVals: Iterable<readonly [string, LogfmtValue]>): string {
  const pairs: string[] = [];
  for (const [key, value] of keyVals) {
    const pair = logfmtPair(key, value);
    if (pair !== undefined) pairs.push(pair);
  }
  return pairs.join(' ');
}
