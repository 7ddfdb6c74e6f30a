import { Fifo } from './fifo.js';
import { totalItems } from './item-counts.js';
import type { QueueMemoryLimit } from './queue-memory-limit.js';
import type { Unit } from './types.js';

export interface QueuedUnit<T> {
  readonly unit: Unit<T>;
  /** When it was offered (clock ms), for the batch age limit. */
  readonly arrivedAt: number;
}

/** Units waiting in memory, oldest first, with their total bytes and items. */
export class MemoryQueue<T> {
  private readonly units = new Fifo<QueuedUnit<T>>();
  private totalBytes = 0;
  private totalItemCount = 0;

  /** @param shared the process-wide limit these bytes also count against, if any */
  constructor(private readonly shared?: QueueMemoryLimit) {}

  /** Whether `bytes` more fit the process-wide limit (always, without one). */
  sharedFits(bytes: number): boolean {
    return this.shared?.fits(bytes) ?? true;
  }

  get length(): number {
    return this.units.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get items(): number {
    return this.totalItemCount;
  }

  get oldestArrival(): number | undefined {
    return this.units.peek()?.arrivedAt;
  }

  push(unit: Unit<T>, arrivedAt: number): void {
    this.units.push({ unit, arrivedAt });
    this.totalBytes += unit.bytes;
    this.totalItemCount += totalItems(unit.items);
    this.shared?.add(unit.bytes);
  }

  /** The oldest units within the limits (at least one, if any), left in the queue. */
  peekBatch(limits: { maxItems: number; maxBytes: number }): Unit<T>[] {
    const batch: Unit<T>[] = [];
    let items = 0;
    let bytes = 0;
    for (let index = 0; ; index++) {
      const queued = this.units.peek(index);
      if (queued === undefined) break;
      const unitItems = totalItems(queued.unit.items);
      if (
        batch.length > 0 &&
        (items + unitItems > limits.maxItems || bytes + queued.unit.bytes > limits.maxBytes)
      )
        break;
      batch.push(queued.unit);
      items += unitItems;
      bytes += queued.unit.bytes;
    }
    return batch;
  }

  /** Removes the `count` oldest units (a batch from `peekBatch`, once settled). */
  removeOldest(count: number): void {
    for (let removed = 0; removed < count; removed++) {
      const queued = this.units.shift();
      if (queued === undefined) return;
      this.totalBytes -= queued.unit.bytes;
      this.totalItemCount -= totalItems(queued.unit.items);
      this.shared?.remove(queued.unit.bytes);
    }
  }

  /** Removes and returns every unit, oldest first. */
  takeAll(): Unit<T>[] {
    const all = this.units.takeAll().map((queued) => queued.unit);
    this.shared?.remove(this.totalBytes);
    this.totalBytes = 0;
    this.totalItemCount = 0;
    return all;
  }
}
