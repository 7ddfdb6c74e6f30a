/**
 * One limit on the bytes that all the memory queues of the process hold together (units waiting
 * and units being pushed), on top of each queue's own `maxQueueBytes`.
 *
 * Each tenant has its own queue per backend, so without it memory is bounded only by tenants ×
 * sinks × `maxQueueBytes`: with a shared Loki down for a few minutes, 100 tenants could fill
 * 100 × 2 × 32 MiB of memory and the process would die, losing everything it had accepted. Past
 * the limit, a queue sends new units to its spool on disk, exactly as when its own memory is
 * full; order is kept (see `DeliveryQueue`).
 */
export class QueueMemoryLimit {
  private used = 0;

  constructor(readonly limitBytes: number) {
    if (!(limitBytes > 0))
      throw new Error(`the queue memory limit must be positive (got ${limitBytes})`);
  }

  /** Bytes held by every memory queue now. */
  get bytes(): number {
    return this.used;
  }

  fits(bytes: number): boolean {
    return this.used + bytes <= this.limitBytes;
  }

  add(bytes: number): void {
    this.used += bytes;
  }

  remove(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
