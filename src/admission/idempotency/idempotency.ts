import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Admitted } from '../admission.js';
import { parseIdempotencyKey } from './key.js';
import type { IdempotencyStore } from './store.js';

/** How a request's `Idempotency-Key` was handled, as counted. */
export type IdempotencyOutcome = 'absent' | 'invalid' | 'new' | 'duplicate' | 'in_progress';

export interface IdempotencyCounters {
  /** `pharos_idempotency_requests_total{tenant, outcome}` */
  requests: { labels(tenant: string, outcome: IdempotencyOutcome): { inc(): void } };
}

export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** `idempotency.window`: how long an accepted batch's key is remembered. */
  windowMs: number;
  /**
   * How long an in-progress claim lives if it is neither confirmed nor released: the longest a
   * request can take after its claim (body read and queueing), so that a replica dying
   * mid-request frees the key by itself. Suggested: `ingest.bodyTimeout` + 5 s.
   */
  leaseMs: number;
  counters: IdempotencyCounters;
  logger: Logger;
}

/**
 * What the pipeline does with a request:
 * - `proceed`: ingest it, then call `accepted()` once it is answered 202 or `failed()` when it is
 *   refused (any 4xx/5xx), so a retry of a failed batch is processed and one of an accepted
 *   batch is not. Also for requests without a (valid) key, where both are no-ops.
 * - `duplicate`: the batch was accepted within the window; answer 202 and ingest nothing.
 * - `in-progress`: another request is ingesting the same batch right now; answer 503 with
 *   `Retry-After: 1`. Not 409 (the IETF idempotency-key draft's answer): the Faro SDK retries
 *   only 408, 425, 429, 500, 502, 503 and 504, so a 409 would make it drop the batch, and if
 *   the first request then failed, the batch would be lost. 503 is retried after Retry-After
 *   (+0–20 % jitter); by then the first request is usually done and the retry gets a 202
 *   (duplicate) or, if it failed, is processed.
 */
export type IdempotencyTicket =
  | { outcome: 'proceed'; accepted(): Promise<void>; failed(): Promise<void> }
  | { outcome: 'duplicate' }
  | { outcome: 'in-progress' };

const NOTHING_TO_DO: IdempotencyTicket = {
  outcome: 'proceed',
  accepted: () => Promise.resolve(),
  failed: () => Promise.resolve(),
};

/**
 * `Idempotency-Key` handling. The Faro SDK (2.12+) sends a 20-character key per batch and
 * repeats it on every retry of that batch; keys are scoped to the app, so two apps (or
 * tenants) sending the same key never affect each other. Never fails a request: a store that
 * throws means the request is ingested without deduplication.
 */
export function createIdempotency(options: IdempotencyOptions) {
  const { store, windowMs, leaseMs, counters, logger } = options;

  return {
    async begin(admitted: Admitted, headers: IncomingHttpHeaders): Promise<IdempotencyTicket> {
      const tenant = admitted.sender.tenantId;
      const parsed = parseIdempotencyKey(headers);
      if (parsed.kind !== 'valid') {
        counters.requests.labels(tenant, parsed.kind).inc();
        return NOTHING_TO_DO;
      }
      const key = `${admitted.sender.appId}:${parsed.key}`;
      const token = randomUUID();
      let state;
      try {
        state = await store.claim(key, token, leaseMs);
      } catch (error) {
        logger.error({ err: error }, 'idempotency claim failed; ingesting without deduplication');
        return NOTHING_TO_DO;
      }
      if (state === 'done') {
        counters.requests.labels(tenant, 'duplicate').inc();
        return { outcome: 'duplicate' };
      }
      if (state === 'in-progress') {
        counters.requests.labels(tenant, 'in_progress').inc();
        return { outcome: 'in-progress' };
      }
      counters.requests.labels(tenant, 'new').inc();
      let settled = false;
      const settle = async (work: () => Promise<void>, what: string) => {
        if (settled) return;
        settled = true;
        try {
          await work();
        } catch (error) {
          logger.error({ err: error }, `idempotency ${what} failed`);
        }
      };
      return {
        outcome: 'proceed',
        accepted: () => settle(() => store.confirm(key, windowMs), 'confirmation'),
        failed: () => settle(() => store.release(key, token), 'release'),
      };
    },
  };
}

export type Idempotency = ReturnType<typeof createIdempotency>;
