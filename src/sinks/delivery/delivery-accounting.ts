import type { Metrics } from '../../metrics/index.js';
import type { LeaseEntry } from './delivery-queue.js';
import { addItemCounts, eachKind } from './item-counts.js';
import type { ItemCounts } from './types.js';

/**
 * The metrics of one delivery queue (sink × tenant). Counting in and out: every accepted item
 * ends up in `delivered - redelivered` or `dropped` of its sink, once the queue is empty.
 */
export function createDeliveryAccounting(metrics: Metrics, sink: string, tenant: string) {
  const memoryGauge = metrics.sinkQueueBytes.labels(sink, tenant, 'memory');
  const spoolGauge = metrics.sinkQueueBytes.labels(sink, tenant, 'spool');
  let memoryBytes = 0;
  let spoolBytes = 0;
  const report = (): void => {
    memoryGauge.set(memoryBytes);
    spoolGauge.set(spoolBytes);
  };
  metrics.sinkQueueReporters.add(report);
  return {
    /** A push the backend confirmed; redelivered items are also counted as delivered. */
    delivered(entries: readonly LeaseEntry<unknown>[]): void {
      const delivered: ItemCounts = {};
      const redelivered: ItemCounts = {};
      for (const entry of entries) {
        addItemCounts(delivered, entry.items);
        if (entry.maybeSent) addItemCounts(redelivered, entry.items);
      }
      for (const [kind, count] of eachKind(delivered))
        metrics.sinkItemsDelivered.labels(sink, tenant, kind).inc(count);
      for (const [kind, count] of eachKind(redelivered))
        metrics.sinkItemsRedelivered.labels(sink, tenant, kind).inc(count);
      metrics.sinkRequests.labels(sink, tenant, 'delivered', '').inc();
    },
    retried(reason: string): void {
      metrics.sinkRequests.labels(sink, tenant, 'retry', reason).inc();
    },
    rejected(reason: string): void {
      metrics.sinkRequests.labels(sink, tenant, 'rejected', reason).inc();
    },
    dropped(items: ItemCounts, reason: string): void {
      for (const [kind, count] of eachKind(items))
        metrics.itemsDropped.labels(tenant, kind, sink, reason).inc(count);
    },
    /** Starts timing a push; call the result with its outcome. */
    timePush(): (outcome: string) => void {
      const end = metrics.sinkRequestDuration.startTimer({ sink });
      return (outcome) => end({ outcome });
    },
    /** The queue's bytes now; the gauge reads them when it is collected (see metrics.ts). */
    queueBytes(memory: number, spool: number): void {
      memoryBytes = memory;
      spoolBytes = spool;
    },
    /** The queue is closed: its gauge keeps the last figures and stops asking. */
    close(): void {
      report();
      metrics.sinkQueueReporters.delete(report);
    },
  };
}

export type DeliveryAccounting = ReturnType<typeof createDeliveryAccounting>;
