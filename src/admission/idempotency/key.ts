import type { IncomingHttpHeaders } from 'node:http';

/** Longest `Idempotency-Key` accepted; the Faro SDK sends 20 characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

export type ParsedIdempotencyKey =
  { kind: 'absent' } | { kind: 'invalid' } | { kind: 'valid'; key: string };

/**
 * The request's `Idempotency-Key`: 1–128 visible ASCII characters (0x21–0x7E), or `invalid`.
 *
 * An invalid key is ignored, not refused: the request is ingested without deduplication. The
 * Faro SDK always sends a valid one, so an invalid key comes from another sender, and a 400
 * would make it drop the batch (the SDK never retries a 4xx): refusing would lose data to
 * protect against duplicates that only that sender's retries could cause. Invalid keys are
 * counted (`outcome="invalid"`), so a broken sender shows up. A repeated header (which Node joins
 * with ", ") is invalid for the same reason: we cannot tell which key the sender meant.
 */
export function parseIdempotencyKey(headers: IncomingHttpHeaders): ParsedIdempotencyKey {
  const value = headers['idempotency-key'];
  if (value === undefined) return { kind: 'absent' };
  const key = Array.isArray(value) ? value.join(', ') : value;
  return isValidIdempotencyKey(key) ? { kind: 'valid', key } : { kind: 'invalid' };
}

export function isValidIdempotencyKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return false;
  for (let index = 0; index < key.length; index++) {
    const code = key.charCodeAt(index);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}
