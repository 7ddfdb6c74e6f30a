import type { TextRule } from './types.js';

export const CARD_MARKER = '[card]';

/**
 * A card number as people and forms write it: 13–19 digits in one run, or in the usual groups
 * with one kind of separator (4-4-4-4, 4-4-4-4-1..3, Amex 4-6-5, Diners 4-6-4). A dash between
 * two long numbers (`1795573534838-2238538939245`, a web-vitals id) is no card layout.
 */
const CANDIDATE =
  /(?<![0-9A-Za-z])(?:\d{4}([ -])\d{4}\1\d{4}(?:\1\d{4})?(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5}|\d{13,19})(?![0-9A-Za-z])/g;
const MAY_MATCH = /\d{4}[ -]?\d{4}/;

/**
 * Payment card numbers become `[card]`. A candidate must pass the Luhn check and have the prefix
 * and length of a card network (see `issuerAccepts`): order numbers that fail Luhn stay, and so do
 * epoch timestamps (they start with 1) and Faro's 13-digit random ids, which a bare Luhn check
 * would hit one time in ten.
 */
export const creditCardRule: TextRule = {
  name: 'creditCard',
  trigger: '\\d{4}',
  mayMatch: (text) => MAY_MATCH.test(text),
  apply: (text) =>
    text.replace(CANDIDATE, (candidate) => (isCardNumber(candidate) ? CARD_MARKER : candidate)),
};

export function isCardNumber(candidate: string): boolean {
  const digits = candidate.replace(/[ -]/g, '');
  return /^\d{13,19}$/.test(digits) && issuerAccepts(digits) && passesLuhn(digits);
}

/**
 * Prefixes and lengths of the networks (ISO/IEC 7812 ranges as the networks publish them).
 * 13-digit Visa numbers are no longer issued and are left out on purpose: every Faro web-vitals
 * measurement carries a random 13-digit number in its `id`.
 */
export function issuerAccepts(digits: string): boolean {
  const length = digits.length;
  const two = Number(digits.slice(0, 2));
  const three = Number(digits.slice(0, 3));
  const four = Number(digits.slice(0, 4));
  switch (digits[0]) {
    case '2': // Mastercard 2-series
      return four >= 2221 && four <= 2720 && length === 16;
    case '3':
      if (two === 34 || two === 37) return length === 15; // Amex
      if (four >= 3528 && four <= 3589) return length >= 16; // JCB
      return (
        ((three >= 300 && three <= 305) || two === 36 || two === 38 || two === 39) && length >= 14
      ); // Diners
    case '4': // Visa
      return length === 16 || length === 19;
    case '5':
      if (two >= 51 && two <= 55) return length === 16; // Mastercard
      return (two === 50 || two >= 56) && length >= 16; // Maestro
    case '6': // Discover, UnionPay, Maestro
      return length >= 16;
    default:
      return false;
  }
}

export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index--) {
    let digit = digits.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** A number field (an unknown field, an OTLP `intValue`) that holds a card number. */
export function isCardNumberValue(value: number | string): boolean {
  const text =
    typeof value === 'number' ? (Number.isSafeInteger(value) ? String(value) : '') : value;
  return /^\d{13,19}$/.test(text) && isCardNumber(text);
}
