/**
 * One bound on the data that waits in memory for its batch to fill, across every delivery queue
 * of the process (every tenant's Loki and traces queues).
 *
 * A queue pushes when its batch is full or when its oldest unit is `batch.maxAgeMs` old. A busy
 * tenant fills batches in tens of milliseconds; a quiet one never does, and holds up to
 * `maxAgeMs` of its data. With a few busy tenants that is little, but with hundreds of quiet ones
 * it is up to a whole `maxAgeMs` of the process's traffic, and memory grows with the number of
 * tenants instead of with the load (docs/performance.md, finding 15). Past the bound, the queue
 * that holds the most waiting data pushes at once. Pushes stay about as many as before: each of
 * those queues pushed once per `maxAgeMs` anyway.
 *
 * Waiting means in the memory queue and not yet taken for a push. Units being pushed (or retried
 * after a failure) no longer count: they are bounded by `maxQueueBytes` per queue, and pushing
 * another queue early would not make the backend answer sooner.
 */
const SKIPPED_AFTER_A_VAIN_SCAN = 100;

export class BatchingBudget {
  private total = 0;
  private readonly shares = new Set<BudgetShare>();
  /** The share told to push early, until it takes its units: one relief at a time. */
  private relieving: BudgetShare | undefined;
  /**
   * Arrivals to let pass before scanning again after a scan found no queue to push. While a
   * shared backend is down, every queue backs off and the total stays over the bound; scanning
   * thousands of queues on every request would then cost more than the request.
   */
  private scansSkipped = 0;

  /**
   * @param limitBytes total waiting bytes (unit estimates) before the largest queue is pushed
   * @param minPushBytes a queue holding less is never pushed early: past the bound with many
   *   tiny queues, pushing any one of them would free next to nothing for a whole request
   */
  constructor(
    readonly limitBytes: number,
    readonly minPushBytes: number = Math.min(64 * 1024, limitBytes),
  ) {
    if (!(limitBytes > 0)) throw new Error(`batching budget must be positive (got ${limitBytes})`);
  }

  /** Bytes waiting across every queue. */
  get waitingBytes(): number {
    return this.total;
  }

  /**
   * A queue's share of the budget. `pushEarly` asks its sender to push now; `canPushEarly` says
   * whether it is free to (not pushing, not backing off, not stopped).
   */
  join(pushEarly: () => void, canPushEarly: () => boolean): BudgetShare {
    const share = new BudgetShare(this, pushEarly, canPushEarly);
    this.shares.add(share);
    return share;
  }

  /** @internal */
  changed(share: BudgetShare, delta: number): void {
    this.total += delta;
    if (delta < 0 && this.relieving === share) this.relieving = undefined;
    if (delta > 0 && this.total > this.limitBytes && this.relieving === undefined) this.relieve();
  }

  /** @internal */
  left(share: BudgetShare): void {
    this.shares.delete(share);
    if (this.relieving === share) this.relieving = undefined;
  }

  private relieve(): void {
    if (this.scansSkipped > 0) {
      this.scansSkipped--;
      return;
    }
    let largest: BudgetShare | undefined;
    for (const share of this.shares) {
      if (share.waiting > (largest?.waiting ?? 0) && share.canPushEarly()) largest = share;
    }
    if (largest === undefined || largest.waiting < this.minPushBytes) {
      this.scansSkipped = SKIPPED_AFTER_A_VAIN_SCAN;
      return;
    }
    this.relieving = largest;
    largest.pushEarly();
  }
}

/** One queue's waiting bytes, kept by the queue as units arrive and are taken for a push. */
export class BudgetShare {
  private bytes = 0;

  constructor(
    private readonly budget: BatchingBudget,
    readonly pushEarly: () => void,
    readonly canPushEarly: () => boolean,
  ) {}

  get waiting(): number {
    return this.bytes;
  }

  /** Units arrived in the memory queue. */
  add(bytes: number): void {
    this.bytes += bytes;
    this.budget.changed(this, bytes);
  }

  /** Units taken for a push (or moved to the spool at shutdown). */
  remove(bytes: number): void {
    const removed = Math.min(bytes, this.bytes);
    this.bytes -= removed;
    this.budget.changed(this, -removed);
  }

  /** The queue is closed: its bytes no longer count. */
  leave(): void {
    this.remove(this.bytes);
    this.budget.left(this);
  }
}
