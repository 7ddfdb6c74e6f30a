import type { IncomingHttpHeaders } from 'node:http';
import { xxh3 } from '@node-rs/xxhash';
import type { Admitted } from './admission.js';

/**
 * Session-consistent sampling at the gateway.
 *
 * A session is kept when `xxh3(sessionId)`, mapped to [0, 1), is below the app's `samplingRate`.
 * The decision depends on nothing but the id and the rate, so every replica decides alike, every
 * batch of a session gets the same answer (a session is kept or dropped whole), and the browser
 * helper (`@pharos/faro-remote-config`) makes the very same decision when Faro creates the
 * session. That last point matters: with two independent random decisions (browser, then
 * gateway) an app at rate r would keep r² of its sessions; with the same hash a session the
 * browser kept is kept here too, and the gateway only drops what a browser with an old (or no)
 * config let through. When the rate changes, the effective rate is min(browser, gateway).
 */

export type SamplingDecision = 'keep' | 'drop';

/** 2⁻⁵³: the top 53 bits of the hash become a double in [0, 1) exactly, in Node and browsers. */
const TWO_POW_MINUS_53 = 2 ** -53;

/**
 * The session's position in [0, 1): the top 53 bits of XXH3-64 (seed 0) of its UTF-8 bytes.
 * packages/faro-remote-config/src/sampling.ts computes the same number in the browser.
 */
export function sessionFraction(sessionId: string): number {
  return Number(xxh3.xxh64(sessionId) >> 11n) * TWO_POW_MINUS_53;
}

/**
 * Keep or drop a session at `rate` (0..1). Rate 1 keeps all and 0 drops all without hashing
 * (most apps keep everything, so the common case costs nothing). A rate that is not a number
 * keeps: the registry refuses one, and losing data to a bug is worse than keeping it.
 */
export function decideSession(sessionId: string, rate: number): SamplingDecision {
  if (!(rate < 1)) return 'keep';
  if (rate <= 0) return 'drop';
  return sessionFraction(sessionId) < rate ? 'keep' : 'drop';
}

/** The SDK's `x-faro-session-id` header (equal to `meta.session.id` of the batch), if any. */
export function sessionIdFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['x-faro-session-id'];
  const id = Array.isArray(value) ? value[0] : value;
  return id === undefined || id === '' ? undefined : id;
}

/** `meta.session.id` of a parsed payload, if it is a non-empty string. */
export function sessionIdFromPayload(payload: {
  meta?: { session?: { id?: unknown } };
}): string | undefined {
  const id = payload.meta?.session?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Where the session id was read: the header (before the body) or the parsed body. */
export type SampledFrom = 'header' | 'body';

/** What sampling reports to; structurally a prom-client counter (see the proposed metrics). */
export interface SamplingCounters {
  /** `pharos_ingest_sampled_out_total{tenant, from}`: requests answered 202 without ingesting. */
  sampledOut: { labels(tenant: string, from: SampledFrom): { inc(count?: number): void } };
}

/**
 * The two places the ingest pipeline asks: from the headers, before any body byte is read
 * (the Faro SDK always sends `x-faro-session-id` with a session, so a dropped session costs no
 * read and no parse), and from the parsed payload when the header was absent (other senders).
 * A payload without a session is kept: there is nothing to be consistent with.
 */
export function createSessionSampling(counters: SamplingCounters) {
  return {
    /** True when the request must be answered 202 and not read: its session is sampled out. */
    dropsBeforeBody(admitted: Admitted, headers: IncomingHttpHeaders): boolean {
      const sessionId = sessionIdFromHeaders(headers);
      if (sessionId === undefined) return false;
      if (decideSession(sessionId, admitted.app.samplingRate) === 'keep') return false;
      counters.sampledOut.labels(admitted.sender.tenantId, 'header').inc();
      return true;
    },

    /**
     * For requests without the header: true when the parsed payload's session is sampled out.
     * A request whose header was present never gets here dropped (it was decided already), so
     * a header and a body that disagree are decided by the header, as the SDK sends them equal.
     */
    dropsAfterParse(
      admitted: Admitted,
      headers: IncomingHttpHeaders,
      payload: { meta?: { session?: { id?: unknown } } },
    ): boolean {
      if (sessionIdFromHeaders(headers) !== undefined) return false;
      const sessionId = sessionIdFromPayload(payload);
      if (sessionId === undefined) return false;
      if (decideSession(sessionId, admitted.app.samplingRate) === 'keep') return false;
      counters.sampledOut.labels(admitted.sender.tenantId, 'body').inc();
      return true;
    },
  };
}

export type SessionSampling = ReturnType<typeof createSessionSampling>;
