import type { Logger } from 'pino';
import { retryDelayMs } from './backoff.js';
import type { DeliveryAccounting } from './delivery-accounting.js';
import type { DeliveryQueue, Lease } from './delivery-queue.js';
import { totalItems, addItemCounts } from './item-counts.js';
import { createLogLimiter } from './rate-limited-log.js';
import type { DeliveryOptions, ItemCounts, SendOutcome, SinkProtocol } from './types.js';
import { Doorbell, Latch, settlesWithin, type Sleep } from './wait.js';

/** After aborting a push at shutdown, how long it gets to return (a protocol should at once). */
const ABORT_GRACE_MS = 1000;
/** After an unexpected error in the loop itself (say, the spool cannot be read), pause this long. */
const LOOP_ERROR_PAUSE_MS = 1000;
const NOTHING_TO_TAKE_PAUSE_MS = 10;

export interface SenderDeps<T> {
  readonly queue: DeliveryQueue<T>;
  readonly protocol: SinkProtocol<T>;
  readonly options: DeliveryOptions;
  readonly accounting: DeliveryAccounting;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly logIntervalMs: number;
  /** Called after units leave the queue (for the queue gauges). */
  readonly onSettled: () => void;
}

/** The lease the sender held when it stopped, and whether it was ever handed to the backend. */
export interface UnsettledLease<T> {
  readonly lease: Lease<T>;
  readonly attempted: boolean;
}

type RetryOutcome = Extract<SendOutcome, { status: 'retry' }>;

/**
 * The one loop that pushes a queue to its backend: one push at a time, oldest units first (Loki
 * needs order within a stream). A push that fails with a retryable outcome is repeated with the
 * same units, after a backoff, forever: the queue fills up meanwhile, and ingest answers 503 when
 * it is full, which is the backpressure. Units are removed only once delivered or rejected.
 */
export class Sender<T> {
  private readonly doorbell = new Doorbell();
  private stopRequested = false;
  /** Fired by `stop()`: ends every wait of the loop. */
  private readonly stopping = new Latch();
  /** Once true, outcomes that arrive are ignored: shutdown has taken over the units. */
  private stopped = false;
  private current: { lease: Lease<T>; attempted: boolean } | undefined;
  private attempt: Promise<RetryOutcome | undefined> | undefined;
  private pushAbort: AbortController | undefined;
  private backingOff = false;
  private flushWaiters: Array<() => void> = [];
  /** The batching budget asked for a push without waiting for the batch to fill. */
  private early = false;
  private readonly rejectLog;
  private readonly retryLog;
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: SenderDeps<T>) {
    this.rejectLog = createLogLimiter(deps.logIntervalMs, deps.clock);
    this.retryLog = createLogLimiter(deps.logIntervalMs, deps.clock);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Something changed in the queue: look again. */
  wake(): void {
    this.doorbell.ring();
  }

  /** Pushes what is queued now, as `flush` does, without waiting for the queue to empty. */
  pushEarly(): void {
    this.early = true;
    this.doorbell.ring();
  }

  /** Free to push at once: no push under way or backing off, not stopped. */
  get canPushEarly(): boolean {
    return this.current === undefined && !this.backingOff && !this.stopRequested;
  }

  get pushInFlight(): boolean {
    return this.attempt !== undefined;
  }

  get isBackingOff(): boolean {
    return this.backingOff;
  }

  /**
   * Pushes what is queued without waiting for batches to fill, and resolves once the queue is
   * empty, or once a push has failed and the sender is backing off (the backend is down: waiting
   * for it could take forever), or once the sender has stopped.
   */
  flush(): Promise<void> {
    if (this.flushDone()) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushWaiters.push(resolve);
      this.doorbell.ring();
    });
  }

  /**
   * Stops the loop. A push under way gets `drainMs` to finish (its outcome is applied as usual),
   * then it is aborted. Returns the lease still held, if any, for the caller to keep.
   */
  async stop(drainMs: number): Promise<UnsettledLease<T> | undefined> {
    this.stopRequested = true;
    this.stopping.fire();
    const attempt = this.attempt;
    if (attempt !== undefined && !(await settlesWithin(attempt, drainMs))) {
      this.pushAbort?.abort(new Error('the sink is shutting down'));
      await settlesWithin(attempt, ABORT_GRACE_MS);
    }
    this.stopped = true;
    // Let the loop see the stop (it may be reading the spool) before the caller closes files.
    if (this.loop) await settlesWithin(this.loop, ABORT_GRACE_MS);
    this.releaseFlushWaiters();
    return this.current;
  }

  private async run(): Promise<void> {
    while (!this.stopRequested) {
      try {
        await this.deliverNext();
      } catch (error) {
        this.deps.logger.error({ err: error }, 'delivery loop failed; retrying');
        await this.pause(LOOP_ERROR_PAUSE_MS);
      }
    }
  }

  /**
   * One lease, from waiting for it to its outcome. A function of its own so that the lease dies
   * with its frame: a suspended async function keeps the values of its registers, and a loop
   * holding `lease` kept the last delivered batch alive until the next one was taken, which for
   * a quiet tenant can be many seconds (with hundreds of tenants, tens of MiB).
   */
  private async deliverNext(): Promise<void> {
    const lease = await this.nextLease();
    if (lease !== undefined) await this.deliver(lease);
  }

  /** Waits until a batch should go (full, old enough, or flushed), then takes it. */
  private async nextLease(): Promise<Lease<T> | undefined> {
    const { queue, options, clock } = this.deps;
    while (!this.stopRequested) {
      const now = clock();
      const urgent = this.early || this.flushWaiters.length > 0;
      const readiness = queue.readiness(options.batch, now, urgent);
      // Urgent and not ready means nothing in memory: an early push has nothing left to do.
      this.early = false;
      if (readiness.state === 'ready') {
        const lease = await queue.take(options.batch);
        if (lease !== undefined) return lease;
        // Ready but nothing to take should not happen; never spin on it.
        await this.pause(NOTHING_TO_TAKE_PAUSE_MS, this.doorbell.wait());
        continue;
      }
      if (readiness.state === 'idle' && this.flushDone()) this.releaseFlushWaiters();
      const bell = this.doorbell.wait();
      if (readiness.state === 'wait') await this.pause(readiness.until - now, bell);
      else await this.stopping.during((stopped) => Promise.race([bell, stopped]));
    }
    return undefined;
  }

  /** Pushes the lease until it is delivered or rejected, or the sender stops. */
  private async deliver(lease: Lease<T>): Promise<void> {
    this.current = { lease, attempted: false };
    const values = lease.entries.map((entry) => entry.value);
    for (let failures = 1; !this.stopRequested; failures++) {
      let retry: RetryOutcome | undefined;
      try {
        this.attempt = this.attemptOnce(lease, values);
        retry = await this.attempt;
      } finally {
        this.attempt = undefined;
      }
      if (retry === undefined) return;
      const delay = retryDelayMs(
        this.deps.options.retry,
        failures,
        retry.retryAfterMs,
        this.deps.random,
      );
      this.logRetry(lease, retry, failures, delay);
      this.backingOff = true;
      this.releaseFlushWaiters();
      await this.pause(delay);
      this.backingOff = false;
    }
  }

  /** One push and its outcome. Returns the outcome when it calls for a retry. */
  private async attemptOnce(
    lease: Lease<T>,
    values: readonly T[],
  ): Promise<RetryOutcome | undefined> {
    const { queue, protocol, options, accounting } = this.deps;
    await queue.beforeSend(lease);
    // Once marked as sent, it is sent, even if a stop came meanwhile: the mark would otherwise
    // count units that never left as redelivered. `stop` waits for (or aborts) this attempt.
    if (this.current !== undefined) this.current.attempted = true;
    const abort = new AbortController();
    this.pushAbort = abort;
    const timeout = setTimeout(
      () => abort.abort(new Error('push timed out')),
      options.requestTimeoutMs,
    );
    const endTimer = accounting.timePush();
    let outcome: SendOutcome;
    try {
      outcome = await protocol.send(values, abort.signal);
    } catch (error) {
      // The contract says send never throws; if it does, the units are kept and retried.
      this.deps.logger.error({ err: error }, 'sink protocol threw from send; retrying');
      outcome = { status: 'retry', reason: 'send_threw' };
    } finally {
      clearTimeout(timeout);
      this.pushAbort = undefined;
    }
    endTimer(outcome.status);
    if (this.stopped) return undefined;
    switch (outcome.status) {
      case 'delivered':
        queue.settle(lease);
        this.current = undefined;
        accounting.delivered(lease.entries);
        this.afterSettle();
        return undefined;
      case 'rejected':
        queue.settle(lease);
        this.current = undefined;
        accounting.rejected(outcome.reason);
        this.drop(lease, outcome);
        this.afterSettle();
        return undefined;
      case 'retry':
        accounting.retried(outcome.reason);
        return outcome;
    }
  }

  private drop(lease: Lease<T>, outcome: Extract<SendOutcome, { status: 'rejected' }>): void {
    const items: ItemCounts = {};
    for (const entry of lease.entries) addItemCounts(items, entry.items);
    this.deps.accounting.dropped(items, outcome.reason);
    const gate = this.rejectLog.take();
    if (!gate.log) return;
    this.deps.logger.warn(
      {
        reason: outcome.reason,
        detail: outcome.detail?.slice(0, 1000),
        items: totalItems(items),
        similarSinceLastLog: gate.suppressed,
      },
      'backend rejected a push; its items are dropped',
    );
  }

  private logRetry(
    lease: Lease<T>,
    outcome: RetryOutcome,
    failures: number,
    delayMs: number,
  ): void {
    const gate = this.retryLog.take();
    if (!gate.log) return;
    const items = lease.entries.reduce((sum, entry) => sum + totalItems(entry.items), 0);
    this.deps.logger.warn(
      { reason: outcome.reason, failures, delayMs, items, similarSinceLastLog: gate.suppressed },
      'push to backend failed; will retry the same batch',
    );
  }

  private afterSettle(): void {
    this.deps.onSettled();
    if (this.flushDone()) this.releaseFlushWaiters();
  }

  private flushDone(): boolean {
    return (
      this.stopped || this.backingOff || (this.current === undefined && this.deps.queue.isEmpty)
    );
  }

  private releaseFlushWaiters(): void {
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Waits `ms`, or until stopped, or until `bell` rings. */
  private async pause(ms: number, bell?: Promise<void>): Promise<void> {
    const cancel = new AbortController();
    await this.stopping.during((stopped) => {
      const waits = [this.deps.sleep(Math.max(0, ms), cancel.signal), stopped];
      if (bell) waits.push(bell);
      return Promise.race(waits);
    });
    cancel.abort();
  }
}
