import type { Logger } from 'pino';
import type { ClaimState, IdempotencyStore } from './store.js';

export interface FallbackOptions {
  logger: Logger;
  /** A shared-store call slower than this counts as a failure (default 250 ms). */
  timeoutMs?: number;
  /** After a failure, the shared store is left alone this long before it is tried again (default 5 s). */
  retryAfterMs?: number;
  /** Called for every operation the fallback served because the shared store failed. */
  onFallback?: () => void;
  clock?: () => number;
}

/**
 * The shared store (Redis) while it answers, this replica's memory while it does not.
 * Idempotency must never fail a request or hold it up: a Redis call that errors or takes
 * longer than `timeoutMs` is served from memory, and Redis is not asked again for
 * `retryAfterMs`, so an outage costs one slow call per interval, not one per request.
 * While it lasts, duplicates are only caught when they reach the same replica. Logged once
 * when it begins and once when it ends.
 *
 * Whatever the client's own settings (an offline queue would hold commands until Redis is
 * back), the timeout here bounds the wait.
 */
export class FallbackIdempotencyStore implements IdempotencyStore {
  private readonly timeoutMs: number;
  private readonly retryAfterMs: number;
  private readonly clock: () => number;
  private downUntil = 0;
  private down = false;
  /**
   * Keys whose current claim was made in memory (during an outage). Their release or
   * confirmation must reach memory even if Redis is back by then; otherwise the stale claim
   * would answer 503 to retries until its lease ends, should Redis fail again meanwhile.
   */
  private readonly claimedLocally = new Set<string>();

  constructor(
    private readonly shared: IdempotencyStore,
    private readonly local: IdempotencyStore,
    private readonly options: FallbackOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? 250;
    this.retryAfterMs = options.retryAfterMs ?? 5000;
    this.clock = options.clock ?? Date.now;
  }

  async claim(key: string, token: string, leaseMs: number): Promise<ClaimState> {
    return this.run(async (store) => {
      const state = await store.claim(key, token, leaseMs);
      if (store === this.local && state === 'claimed') this.claimedLocally.add(key);
      return state;
    });
  }

  release(key: string, token: string): Promise<void> {
    // The claim is where it was made: only that store can hold it.
    if (this.claimedLocally.delete(key)) return this.local.release(key, token);
    return this.run((store) => store.release(key, token));
  }

  async confirm(key: string, windowMs: number): Promise<void> {
    if (this.claimedLocally.delete(key)) await this.local.confirm(key, windowMs);
    // And where the other replicas look, when Redis answers (else memory, again: harmless).
    return this.run((store) => store.confirm(key, windowMs));
  }

  private async run<T>(operation: (store: IdempotencyStore) => Promise<T>): Promise<T> {
    if (this.down && this.clock() < this.downUntil) {
      this.options.onFallback?.();
      return operation(this.local);
    }
    try {
      const result = await withTimeout(operation(this.shared), this.timeoutMs);
      if (this.down) {
        this.down = false;
        this.options.logger.info('idempotency keys are shared through Redis again');
      }
      return result;
    } catch (error) {
      if (!this.down) {
        this.options.logger.warn(
          { err: error },
          'Redis is unreachable: idempotency keys are kept in memory, per replica, until it answers',
        );
      }
      this.down = true;
      this.downUntil = this.clock() + this.retryAfterMs;
      this.options.onFallback?.();
      return operation(this.local);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
