import { Fifo } from './fifo.js';
import { totalItems } from './item-counts.js';
import type { SpoolPosition } from './segment-table.js';
import type { Unit } from './types.js';

export interface CachedRecord<T> {
  readonly unit: Unit<T>;
  readonly arrivedAt: number;
  /** Where the record ends in the spool. */
  readonly end: SpoolPosition;
}

/**
 * Spool records that were just written, still held as values, so that a sender that keeps up
 * takes them from memory instead of reading and deserialising them again. The spool decides what
 * goes in (only records right after the read position, in order); this keeps the totals.
 */
export class ReadAheadCache<T> {
  private readonly records = new Fifo<CachedRecord<T>>();
  private totalBytes = 0;
  private totalItemCount = 0;

  get length(): number {
    return this.records.length;
  }

  /** Sum of `Unit.bytes` of the cached records. */
  get bytes(): number {
    return this.totalBytes;
  }

  get items(): number {
    return this.totalItemCount;
  }

  get oldestArrival(): number | undefined {
    return this.records.peek()?.arrivedAt;
  }

  /** The end of the newest cached record, if any. */
  get lastEnd(): SpoolPosition | undefined {
    return this.records.peek(this.records.length - 1)?.end;
  }

  push(record: CachedRecord<T>): void {
    this.records.push(record);
    this.totalBytes += record.unit.bytes;
    this.totalItemCount += totalItems(record.unit.items);
  }

  /** Removes and returns the oldest records within the limits (at least one, if any). */
  take(limits: { maxItems: number; maxBytes: number }): CachedRecord<T>[] {
    const taken: CachedRecord<T>[] = [];
    let items = 0;
    let bytes = 0;
    for (let next = this.records.peek(); next !== undefined; next = this.records.peek()) {
      const unitItems = totalItems(next.unit.items);
      const over = items + unitItems > limits.maxItems || bytes + next.unit.bytes > limits.maxBytes;
      if (taken.length > 0 && over) break;
      this.records.shift();
      taken.push(next);
      items += unitItems;
      bytes += next.unit.bytes;
      this.totalBytes -= next.unit.bytes;
      this.totalItemCount -= unitItems;
    }
    return taken;
  }
}
