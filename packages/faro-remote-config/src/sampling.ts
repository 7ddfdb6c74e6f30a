import { xxh3Short } from './xxh3.js';

/**
 * Session sampling that agrees with the Pharos gateway.
 *
 * The gateway keeps a session when XXH3-64 of its id, mapped to [0, 1), is below the app's
 * `samplingRate` (src/admission/sampling.ts). If Faro decided at random instead, a session would
 * have to win two independent draws and an app at rate r would keep r² of its sessions. So the
 * browser makes the gateway's decision: kept here ⇒ kept there.
 */

const TWO_POW_MINUS_53 = 2 ** -53;
const encoder = new TextEncoder();

/**
 * The session's position in [0, 1), as the gateway computes it; undefined for ids over 240
 * UTF-8 bytes (this helper hashes short inputs only).
 */
export function sessionFraction(sessionId: string): number | undefined {
  const hash = xxh3Short(encoder.encode(sessionId));
  return hash === undefined ? undefined : Number(hash >> 11n) * TWO_POW_MINUS_53;
}

/**
 * Whether the gateway keeps this session at `rate`. An id this helper cannot hash is kept: the
 * gateway then decides alone, so the effective rate is still `rate`, at the cost of sending.
 */
export function keepsSession(sessionId: string, rate: number): boolean {
  if (!(rate < 1)) return true;
  if (rate <= 0) return false;
  const fraction = sessionFraction(sessionId);
  return fraction === undefined || fraction < rate;
}

/** The alphabet and length of Faro's own `genShortID(10)`. */
const ID_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
const ID_LENGTH = 10;

/** A 10-character session id like the ones Faro generates, from `crypto.getRandomValues`. */
export function generateSessionId(): string {
  const random = new Uint32Array(ID_LENGTH);
  globalThis.crypto.getRandomValues(random);
  let id = '';
  for (const value of random) id += ID_ALPHABET[value % ID_ALPHABET.length] ?? 'a';
  return id;
}

export interface ConsistentSessionSampling {
  /** The app's rate, for anyone reading Faro's config (the sampler below decides). */
  samplingRate: number;
  sampler: () => number;
  generateSessionId: () => string;
}

/**
 * Faro options that make Faro's per-session decision equal to the gateway's.
 *
 * Faro asks its `sampler` for the decision *before* it generates the new session's id, in the
 * same synchronous call (`createUserSessionObject({ isSampled: isSampled() })`, faro-web-sdk
 * 2.12). So the sampler draws the id first, decides on it, and hands it to `generateSessionId`,
 * which Faro calls next. The hand-over is cleared at the end of the current task, so an id
 * drawn for a session that got its id elsewhere (`api.setSession({ id })`) is never reused.
 *
 * Sessions whose id the page chooses itself (`sessionTracking.session.id`, `setSession`) are
 * decided at random by Faro's sampler call above; the gateway then samples them again.
 * Generate ids through `newId` instead (it receives your `generateSessionId`).
 */
export function consistentSessionSampling(
  rate: number,
  newId: () => string = generateSessionId,
): ConsistentSessionSampling {
  let drawn: string | undefined;
  return {
    samplingRate: rate,
    sampler() {
      const id = newId();
      drawn = id;
      queueMicrotask(() => {
        if (drawn === id) drawn = undefined;
      });
      return keepsSession(id, rate) ? 1 : 0;
    },
    generateSessionId() {
      const id = drawn ?? newId();
      drawn = undefined;
      return id;
    },
  };
}
