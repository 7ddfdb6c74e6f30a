/**
 * Which path segments are values (ids, hashes, tokens, dates) rather than names of a route. Such
 * a segment becomes `:id` in the route label, so `/orders/1234` and `/orders/1235` are one series.
 *
 * The rules err towards collapsing: a name wrongly collapsed (`/download/windows10x64`) costs a
 * less precise label, which a configured route pattern fixes; an id left alone costs one series
 * per id until the tenant's cap, and after that every new route is `other`.
 */

/** What an id-like segment is replaced with in the route label. */
export const ID_PLACEHOLDER = ':id';

/** Longer segments are data (encoded state, tokens), never the name of a route. */
const MAX_NAME_SEGMENT_LENGTH = 64;

/** Digits, possibly grouped: `42`, `2024-05-17`, `1.2.3`, `12:30`. */
const NUMERIC = /^\d+(?:[-._:,]\d+)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Hashes and object ids: git SHAs, MongoDB ObjectIds (24), trace ids (32). */
const LONG_HEX = /^[0-9a-f]{16,}$/i;
/** Words inside a segment: `order-8f3a9b2c1d` → `order`, `8f3a9b2c1d`. Base64url alphabets split here too. */
const WORD_SEPARATORS = /[-_.~+]/;
/** A word of 8+ characters mixing letters and digits: `69tcByp4Jx`, `a1b2c3d4`, base64 chunks. */
const MIN_MIXED_WORD_LENGTH = 8;
const HAS_DIGIT = /\d/;
const HAS_LETTER = /[a-z]/i;

export function looksLikeId(segment: string): boolean {
  if (segment.length > MAX_NAME_SEGMENT_LENGTH) return true;
  if (NUMERIC.test(segment) || UUID.test(segment) || LONG_HEX.test(segment)) return true;
  // An e-mail address in a path is both an id and personal data: it must never become a label.
  if (segment.includes('@')) return true;
  if (!HAS_DIGIT.test(segment)) return false;
  return segment.split(WORD_SEPARATORS).some(isMixedWord);
}

function isMixedWord(word: string): boolean {
  return word.length >= MIN_MIXED_WORD_LENGTH && HAS_DIGIT.test(word) && HAS_LETTER.test(word);
}
