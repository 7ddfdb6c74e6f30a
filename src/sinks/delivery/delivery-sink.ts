import type { Logger } from 'pino';
import { PharosError } from '../../errors/index.js';
import type { Metrics } from '../../metrics/index.js';
import type { AcceptedBatch } from '../../model/index.js';
import type { Sink } from '../types.js';
import type { BatchingBudget, BudgetShare } from './batching-budget.js';
import { createDeliveryAccounting } from './delivery-accounting.js';
import { DeliveryQueue } from './delivery-queue.js';
import { MemoryQueue } from './memory-queue.js';
import type { QueueMemoryLimit } from './queue-memory-limit.js';
import { createLogLimiter } from './rate-limited-log.js';
import { Sender } from './sender.js';
import { Spool } from './spool.js';
import type { DeliveryOptions, SinkProtocol, Unit } from './types.js';
import { sleep as realSleep, type Sleep } from './wait.js';

const MiB = 1024 * 1024;

export interface DeliveryDeps {
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Milliseconds; drives batch ages and log rate limits. Default `Date.now`. */
  readonly clock?: () => number;
  /** Backoff and batch-age waits. Default: real timers. */
  readonly sleep?: Sleep;
  /** For backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** The process-wide bound on data waiting for batches to fill, shared by every sink. */
  readonly batchingBudget?: BatchingBudget;
  /** The process-wide bound on bytes in memory queues, shared by every sink. */
  readonly queueMemoryLimit?: QueueMemoryLimit;
}

/** Knobs with sensible defaults; tests turn them down. */
export interface DeliveryTuning {
  /** Spool segment size. Default: an eighth of `maxSpoolBytes`, between 1 MiB and 64 MiB. */
  readonly segmentBytes?: number;
  /** How long `close` lets a push under way finish. Default: `min(requestTimeoutMs, 5 s)`. */
  readonly drainTimeoutMs?: number;
  /** How often the acknowledged position is written to disk. Default 1 s. */
  readonly stateIntervalMs?: number;
  /** At most one warning per this interval for rejected pushes, and one for retries. Default 10 s. */
  readonly logIntervalMs?: number;
}

export interface DeliveryStats {
  readonly memoryUnits: number;
  readonly memoryBytes: number;
  /** Unacknowledged bytes in the spool (records on disk and being written). */
  readonly spoolBytes: number;
  readonly spoolSegments: number;
  readonly pushInFlight: boolean;
  readonly backingOff: boolean;
  readonly closed: boolean;
  /** Group commits written to the spool, and fdatasyncs issued for them. */
  readonly spoolWrites: number;
  readonly spoolSyncs: number;
  /** Writes of the spool state file (cursor). */
  readonly stateWrites: number;
}

export interface DeliverySink extends Sink {
  stats(): DeliveryStats;
}

/**
 * A sink that delivers its part of each batch to a backend through a bounded queue: memory, then
 * a spool on disk, then 503 upstream. See `index.ts` for the whole picture. Resolves once the
 * spool is recovered; units it holds are delivered first.
 */
export async function createDeliverySink<T>(
  protocol: SinkProtocol<T>,
  options: DeliveryOptions,
  deps: DeliveryDeps,
  tuning: DeliveryTuning = {},
): Promise<DeliverySink> {
  checkOptions(options);
  const clock = deps.clock ?? Date.now;
  const logger = deps.logger.child({ sink: protocol.kind, tenant: options.tenantId });
  const accounting = createDeliveryAccounting(deps.metrics, protocol.kind, options.tenantId);
  const memory = new MemoryQueue<T>(deps.queueMemoryLimit);
  const wakeSender = { current: (): void => undefined };
  const spool = await Spool.open(
    {
      dir: options.spoolDir,
      durable: options.durability === 'disk',
      segmentBytes:
        tuning.segmentBytes ??
        Math.min(64 * MiB, Math.max(MiB, Math.floor(options.maxSpoolBytes / 8))),
      stateIntervalMs: tuning.stateIntervalMs ?? 1000,
      // Memory holds at most maxQueueBytes of values: the memory queue plus the spool's read-ahead.
      cacheLimitBytes: () => Math.max(0, options.maxQueueBytes - memory.bytes),
      logger,
      onWritten: () => {
        updateGauges();
        wakeSender.current();
      },
    },
    protocol,
  );
  const lossLog = createLogLimiter(tuning.logIntervalMs ?? 10_000, clock);
  // The sender is made after the queue it reads; the budget reaches it only once both exist.
  const budgetShare: BudgetShare | undefined = deps.batchingBudget?.join(
    () => sender.pushEarly(),
    () => sender.canPushEarly,
  );
  const queue = new DeliveryQueue(
    memory,
    spool,
    options,
    {
      dropped(items, reason, error) {
        accounting.dropped(items, reason);
        const gate = lossLog.take();
        if (gate.log)
          logger.error(
            { err: error, reason, similarSinceLastLog: gate.suppressed },
            'queued units lost',
          );
      },
    },
    budgetShare,
  );
  const sender: Sender<T> = new Sender<T>({
    queue,
    protocol,
    options,
    accounting,
    logger,
    clock,
    sleep: deps.sleep ?? realSleep,
    random: deps.random ?? Math.random,
    logIntervalMs: tuning.logIntervalMs ?? 10_000,
    onSettled: () => updateGauges(),
  });
  wakeSender.current = () => sender.wake();
  const drainTimeoutMs = tuning.drainTimeoutMs ?? Math.min(options.requestTimeoutMs, 5000);

  function updateGauges(): void {
    accounting.queueBytes(memory.bytes, spool.bytes);
  }

  // fan-out asks `hasRoom` and then `offer`s the same batch: select once for both.
  let selected: { batch: AcceptedBatch; unit: Unit<T> | undefined } | undefined;
  function unitOf(batch: AcceptedBatch): Unit<T> | undefined {
    if (selected?.batch !== batch) selected = { batch, unit: protocol.select(batch) };
    return selected.unit;
  }

  let closing: Promise<void> | undefined;
  async function shutDown(): Promise<void> {
    const unsettled = await sender.stop(drainTimeoutMs);
    try {
      await queue.spoolMemory(unsettled?.attempted ? unsettled.lease : undefined);
    } catch (error) {
      logger.error({ err: error }, 'could not spool the queued units at shutdown; they are lost');
    }
    await spool.close();
    updateGauges();
    accounting.close();
  }

  sender.start();
  updateGauges();
  return {
    name: protocol.kind,
    hasRoom(batch) {
      if (closing) return false;
      const unit = unitOf(batch);
      return unit === undefined || queue.hasRoom(unit);
    },
    offer(batch) {
      if (closing)
        throw new PharosError('SHUTTING_DOWN', `the ${protocol.kind} sink is closed`, {
          retryAfterSeconds: 5,
        });
      const unit = unitOf(batch);
      selected = undefined;
      if (unit === undefined) return;
      const now = clock();
      const wasEmpty = queue.isEmpty;
      const durable = queue.enqueue(unit, now);
      updateGauges();
      // The sender sleeps until the oldest unit is old enough or the batch is full. Only a first
      // unit (which starts that clock) or a full batch changes when it must push; waking it for
      // every unit cost a timer, an AbortController and its DOMException twice per request.
      // Units that went to the spool wake it once written (`onWritten`).
      if (wasEmpty || queue.readiness(options.batch, now, false).state === 'ready') sender.wake();
      return durable;
    },
    flush: () => sender.flush(),
    close() {
      closing ??= shutDown();
      return closing;
    },
    stats: () => ({
      memoryUnits: memory.length,
      memoryBytes: memory.bytes,
      spoolBytes: spool.bytes,
      spoolSegments: spool.segmentCount,
      pushInFlight: sender.pushInFlight,
      backingOff: sender.isBackingOff,
      closed: closing !== undefined,
      spoolWrites: spool.groupWrites,
      spoolSyncs: spool.syncs,
      stateWrites: spool.stateWrites,
    }),
  };
}

function checkOptions(options: DeliveryOptions): void {
  const positive: Array<[string, number]> = [
    ['maxQueueBytes', options.maxQueueBytes],
    ['maxSpoolBytes', options.maxSpoolBytes],
    ['batch.maxItems', options.batch.maxItems],
    ['batch.maxBytes', options.batch.maxBytes],
    ['requestTimeoutMs', options.requestTimeoutMs],
    ['retry.multiplier', options.retry.multiplier],
  ];
  const nonNegative: Array<[string, number]> = [
    ['batch.maxAgeMs', options.batch.maxAgeMs],
    ['retry.initialDelayMs', options.retry.initialDelayMs],
    ['retry.maxDelayMs', options.retry.maxDelayMs],
  ];
  for (const [name, value] of positive)
    if (!(value > 0)) throw new Error(`delivery option ${name} must be positive (got ${value})`);
  for (const [name, value] of nonNegative)
    if (!(value >= 0))
      throw new Error(`delivery option ${name} must not be negative (got ${value})`);
}
