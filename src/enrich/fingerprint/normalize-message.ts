import { isIPv6 } from 'node:net';
import { memoize } from './memo.js';

/**
 * Turns an exception message into the stable part that identifies the error: everything that
 * changes from one occurrence to the next (ids, numbers, times, addresses, user input) becomes a
 * placeholder, so "Price calculation failed for qty 3" and "… for qty 2" read the same.
 *
 * Privacy markers (`[email]`, `[jwt]`, `[card]`, `Bearer [token]`, `[ip]`) map to the same
 * placeholders as the raw values they replace, so a fingerprint does not change when the default
 * privacy rules are switched on or off for a tenant.
 */

/** Longer messages are cut before normalising: bounds the work and the regex cost per message. */
export const MAX_MESSAGE_CHARS = 2048;

type Replacement = string | ((match: string) => string);

/** Applied in this order; earlier rules see the raw text, later ones see placeholders. */
const RULES: readonly (readonly [RegExp, Replacement])[] = [
  // Whole URLs first: hosts, paths and queries of a URL vary together.
  [/\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s'"`<>()[\]{}]*/gi, '<url>'],
  [/\bdata:[a-z]+\/[^\s'"`]*/gi, '<url>'],
  // A query string of a relative URL (`/api/cart?id=7&token=…`), which the privacy rules may trim.
  [/\?[^\s'"`#?]*=[^\s'"`]*/g, '?<query>'],
  [/\[email\]/g, '<email>'],
  [/[\w.%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8}\.[a-z]{2,24}\b/gi, '<email>'],
  [/\[jwt\]/g, '<jwt>'],
  [/(?<![\w-])eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '<jwt>'],
  [/\bbearer\s+\S+/gi, 'Bearer <token>'],
  [/\[card\]/g, '<n>'],
  [/\[ip\]/g, '<ip>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  // 2026-11-25, 2026-11-25T02:25:37.597Z, 2026-11-25 02:25:37+02:00
  [
    /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/g,
    '<date>',
  ],
  // Date.prototype.toString and toUTCString.
  [
    /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? (?:\d{1,2} )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?:\d{1,2} )?\d{4} \d{2}:\d{2}:\d{2}(?: GMT(?:[+-]\d{4})?)?(?: \([^)]{0,60}\))?/g,
    '<date>',
  ],
  [/\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b/g, '<time>'],
  [/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g, '<ip>'],
  [
    /(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:.])/gi,
    (text) => (isIPv6(text) ? '<ip>' : text),
  ],
  // Quoted values are mostly user input or ids ("Invalid value 'x'", "Unexpected token '<'").
  [/'[^'\n]{0,200}'|"[^"\n]{0,200}"|`[^`\n]{0,200}`/g, '<str>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  [/\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{6,}\b/gi, '<hex>'],
  [/\b[a-z0-9]{8,}\b/gi, (token) => (looksLikeId(token) ? '<id>' : token)],
  // Not after a letter (`utf8`, `Float32Array`, `h1` stay); units after it are kept (`<n>ms`).
  [/(?<![a-z\d])\d+(?:[.,]\d+)*(?!\d)/gi, '<n>'],
  // A card or phone number split into groups is one number.
  [/<n>(?:[ -]<n>)+/g, '<n>'],
  [/\s+/g, ' '],
];

export function normalizeMessage(message: string): string {
  return memoizedNormalize(
    message.length > MAX_MESSAGE_CHARS ? message.slice(0, MAX_MESSAGE_CHARS) : message,
  );
}

const memoizedNormalize = memoize(applyRules);

function applyRules(message: string): string {
  let text = message;
  for (const [pattern, replacement] of RULES) {
    text =
      typeof replacement === 'string'
        ? text.replace(pattern, replacement)
        : text.replace(pattern, replacement);
  }
  return text.trim();
}

/**
 * Whether an alphanumeric token of 8+ characters is a generated id (`69tcByp4Jx`, `a8Kd93jXz1`)
 * rather than a word (`Float32Array`, `base64url`). Generated ids switch between letters and
 * digits often; words and type names do it at most twice.
 */
export function looksLikeId(token: string): boolean {
  if (token.length < 8) return false;
  let switches = 0;
  let previousIsDigit: boolean | undefined;
  for (let index = 0; index < token.length; index++) {
    const code = token.charCodeAt(index);
    const isDigit = code >= 48 && code <= 57;
    if (previousIsDigit !== undefined && isDigit !== previousIsDigit) switches++;
    previousIsDigit = isDigit;
  }
  return switches >= 3;
}
