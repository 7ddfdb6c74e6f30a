import type { Logger } from 'pino';
import type { Metrics } from '../metrics/index.js';
import { countItemsByKind, type AcceptedBatch } from '../model/index.js';
import type { TelemetryStore } from '../store/index.js';
import type { Sink } from './types.js';

export interface StoreSinkOptions {
  flushIntervalMs: number;
  maxQueueBytes: number;
  /** Flush at once when this many items are waiting, without waiting for the timer. */
  flushItems?: number;
}

/**
 * Feeds the embedded store. Batches wait in memory (bounded by bytes) and are written together
 * in one transaction per flush, on a timer, so the request path never waits for SQLite.
 * A failed write keeps the batches queued and retries; while the queue is full, ingest answers 503.
 */
export function createStoreSink(
  store: TelemetryStore,
  options: StoreSinkOptions,
  metrics: Metrics,
  logger: Logger,
): Sink {
  const flushItems = options.flushItems ?? 2000;
  let queue: AcceptedBatch[] = [];
  let queuedBytes = 0;
  let queuedItems = 0;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let failures = 0;
  let closed = false;

  const writeQueued = (): void => {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
    if (queue.length === 0) return;
    const batches = queue;
    const stopTimer = metrics.storeWriteDuration.startTimer();
    try {
      const result = store.write(batches);
      stopTimer();
      queue = [];
      queuedBytes = 0;
      queuedItems = 0;
      failures = 0;
      for (const [kind, count] of Object.entries(result.byKind))
        metrics.storeItemsWritten.labels(kind).inc(count);
    } catch (error) {
      failures++;
      logger.error(
        { err: error, batches: batches.length, failures },
        'embedded store write failed; will retry',
      );
      if (!closed)
        timer = setTimeout(writeQueued, Math.min(5000, options.flushIntervalMs * 2 ** failures));
      throw error;
    } finally {
      metrics.storeQueueBytes.set(queuedBytes);
    }
  };
  const flushSoon = (): void => {
    try {
      writeQueued();
    } catch {
      // Logged, and retried on a timer.
    }
  };

  return {
    name: 'store',
    hasRoom: (batch) => !closed && queuedBytes + batch.bytes <= options.maxQueueBytes,
    offer(batch) {
      queue.push(batch);
      queuedBytes += batch.bytes;
      queuedItems += batch.itemCount;
      metrics.storeQueueBytes.set(queuedBytes);
      if (queuedItems >= flushItems) immediate ??= setImmediate(flushSoon);
      else timer ??= setTimeout(flushSoon, options.flushIntervalMs);
    },
    flush() {
      writeQueued();
      return Promise.resolve();
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      try {
        writeQueued();
      } catch {
        for (const batch of queue) {
          for (const [kind, count] of Object.entries(countItemsByKind(batch.payload))) {
            if (count > 0)
              metrics.itemsDropped
                .labels(batch.tenantId, kind, 'store', 'store_write_failed')
                .inc(count);
          }
        }
        logger.error(
          { batches: queue.length },
          'embedded store unwritable at shutdown; queued items dropped',
        );
      }
      if (timer) clearTimeout(timer);
      return Promise.resolve();
    },
  };
}
