import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/**
 * A random string over an alphabet without look-alike characters. Rejection sampling keeps every
 * character equally likely (a plain `byte % 56` would favour the first few).
 */
export function randomToken(length: number): string {
  const limit = 256 - (256 % ALPHABET.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit && out.length < length) out += ALPHABET[byte % ALPHABET.length];
    }
  }
  return out;
}

/** Ids of tenants and apps: lower-case letters, digits and dashes, as in a URL path segment. */
export const SLUG_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$';
const SLUG = new RegExp(SLUG_PATTERN);

export function isSlug(value: string): boolean {
  return SLUG.test(value);
}

/** `My Shop!` → `my-shop`. */
export function slugify(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/g, '');
}
