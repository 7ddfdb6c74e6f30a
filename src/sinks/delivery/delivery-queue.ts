import type { BudgetShare } from './batching-budget.js';
import type { MemoryQueue } from './memory-queue.js';
import { Spool } from './spool.js';
import type { SpoolPosition } from './segment-table.js';
import type { DeliveryOptions, ItemCounts, Unit } from './types.js';

export type BatchLimits = DeliveryOptions['batch'];

export interface LeaseEntry<T> {
  readonly value: T;
  readonly bytes: number;
  readonly items: ItemCounts;
  /** The previous process may have delivered it already (see `Spool`): redelivery if sent. */
  readonly maybeSent: boolean;
}

/** The units of one push, taken from the head of the queue and left there until settled. */
export interface Lease<T> {
  readonly source: 'memory' | 'spool';
  readonly entries: readonly LeaseEntry<T>[];
  /** Spool leases: the position right after their last record. */
  readonly spoolEnd?: SpoolPosition;
}

/**
 * `ready`: push now. `wait`: a batch is building up; push at `until` (clock ms) unless it fills
 * first. `idle`: nothing to push (empty, or only records still being written).
 */
export type Readiness =
  | { readonly state: 'ready' }
  | { readonly state: 'wait'; readonly until: number }
  | { readonly state: 'idle' };

export interface QueueEvents {
  /** Units the queue lost after accepting them (a failed spool write, an unreadable record). */
  dropped(items: ItemCounts, reason: string, error?: unknown): void;
}

/**
 * One FIFO queue over two places: memory, then the spool. Everything in memory is older than
 * everything in the spool: once the spool holds anything, new units go to the spool until it has
 * drained, and the sender takes from memory first. With disk durability, memory is not used (the
 * spool's read-ahead cache plays its part).
 */
export class DeliveryQueue<T> {
  constructor(
    private readonly memory: MemoryQueue<T>,
    private readonly spool: Spool<T>,
    private readonly options: Pick<
      DeliveryOptions,
      'durability' | 'maxQueueBytes' | 'maxSpoolBytes'
    >,
    private readonly events: QueueEvents,
    /** This queue's share of the process-wide bound on data waiting for batches to fill. */
    private readonly budget?: BudgetShare,
  ) {}

  get isEmpty(): boolean {
    return this.memory.length === 0 && this.spool.isEmpty;
  }

  /** Whether `unit` can be kept now. A unit larger than a bound still fits into an empty place. */
  hasRoom(unit: Unit<T>): boolean {
    const spoolBytes = this.spool.bytes;
    const spoolFits =
      spoolBytes === 0 || spoolBytes + Spool.estimateBytes(unit) <= this.options.maxSpoolBytes;
    if (this.options.durability === 'disk') return spoolFits;
    return (this.spool.isEmpty && this.memoryFits(unit)) || spoolFits;
  }

  /**
   * Queues `unit`. Disk durability: resolves once it is on disk. Memory durability: returns at
   * once; if a spool write fails, its units are counted as dropped.
   */
  enqueue(unit: Unit<T>, now: number): void | Promise<void> {
    if (this.options.durability === 'disk')
      return this.spool.append(unit, now).then(() => undefined);
    if (this.spool.isEmpty && this.memoryFits(unit)) {
      this.memory.push(unit, now);
      this.budget?.add(unit.bytes);
      return;
    }
    // Overflow starts a new segment, so that the memory units can be put in front of it at
    // shutdown (see `Spool.spoolAtClose`).
    if (this.spool.isEmpty) this.spool.startNewSegment();
    this.spool.append(unit, now).catch((error: unknown) => {
      this.events.dropped(unit.items, 'spool_write_failed', error);
    });
  }

  readiness(limits: BatchLimits, now: number, urgent: boolean): Readiness {
    if (this.memory.length > 0)
      return this.batchReadiness(
        limits,
        now,
        urgent,
        this.memory.items,
        this.memory.bytes,
        this.memory.oldestArrival,
      );
    const spool = this.spool.peek();
    if (spool.unreadOnDisk) return { state: 'ready' };
    const { cached } = spool;
    if (cached.oldestAt !== undefined)
      return this.batchReadiness(limits, now, urgent, cached.items, cached.bytes, cached.oldestAt);
    return { state: 'idle' };
  }

  /** The next batch, oldest first, without removing it: `settle` does once it is done with. */
  async take(limits: BatchLimits): Promise<Lease<T> | undefined> {
    if (this.memory.length > 0) {
      const units = this.memory.peekBatch(limits);
      // A lease is taken only after the previous one is settled: these units are new to a push.
      this.budget?.remove(units.reduce((sum, unit) => sum + unit.bytes, 0));
      return {
        source: 'memory',
        entries: units.map((unit) => ({
          value: unit.value,
          bytes: unit.bytes,
          items: unit.items,
          maybeSent: false,
        })),
      };
    }
    for (;;) {
      const lease = await this.spool.take(limits);
      if (lease === undefined) return undefined;
      for (const meta of lease.unreadable) this.events.dropped(meta.items, 'spool_unreadable');
      if (lease.entries.length === 0) {
        this.spool.acknowledge(lease.end);
        continue;
      }
      return {
        source: 'spool',
        entries: lease.entries.map((entry) => ({
          value: entry.value,
          bytes: entry.meta.bytes,
          items: entry.meta.items,
          maybeSent: entry.maybeSent,
        })),
        spoolEnd: lease.end,
      };
    }
  }

  /** Called before each attempt to push the lease. */
  async beforeSend(lease: Lease<T>): Promise<void> {
    if (lease.spoolEnd !== undefined) await this.spool.markSent(lease.spoolEnd);
  }

  /** Removes a lease's units for good (delivered, or rejected and counted). */
  settle(lease: Lease<T>): void {
    if (lease.spoolEnd !== undefined) this.spool.acknowledge(lease.spoolEnd);
    else this.memory.removeOldest(lease.entries.length);
  }

  /**
   * At shutdown: moves the memory units to the spool, in front of it. `attempted` is the lease
   * the sender had pushed at least once without a result; its units may be in the backend.
   */
  async spoolMemory(attempted: Lease<T> | undefined): Promise<void> {
    const units = this.memory.takeAll();
    this.budget?.leave();
    const maybeSent = attempted?.source === 'memory' ? attempted.entries.length : 0;
    await this.spool.spoolAtClose(units, maybeSent);
  }

  /** Within this queue's `maxQueueBytes` (a first unit always is), and the process-wide limit. */
  private memoryFits(unit: Unit<T>): boolean {
    const ownFits =
      this.memory.length === 0 || this.memory.bytes + unit.bytes <= this.options.maxQueueBytes;
    return ownFits && this.memory.sharedFits(unit.bytes);
  }

  private batchReadiness(
    limits: BatchLimits,
    now: number,
    urgent: boolean,
    items: number,
    bytes: number,
    oldestAt: number | undefined,
  ): Readiness {
    if (urgent || items >= limits.maxItems || bytes >= limits.maxBytes) return { state: 'ready' };
    const until = (oldestAt ?? now) + limits.maxAgeMs;
    return until <= now ? { state: 'ready' } : { state: 'wait', until };
  }
}
