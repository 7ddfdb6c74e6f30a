interface Waiting<E, R> {
  readonly entry: E;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: entries added while a commit is under way (or in the same turn of the event loop)
 * are committed together by the next call of `commit`, so one write and one fsync serve many
 * callers. Under load the groups grow by themselves: the longer an fsync takes, the more entries
 * wait for the next one. Each `add` resolves with its entry's result once its group is committed,
 * or rejects with the group's error.
 */
export class GroupCommit<E, R> {
  private waiting: Waiting<E, R>[] = [];
  private committing = false;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly commit: (entries: readonly E[]) => Promise<readonly R[]>) {}

  add(entry: E): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ entry, resolve, reject });
      this.schedule();
    });
  }

  /** Entries added and not yet committed (or failed). */
  get pending(): number {
    return this.waiting.length;
  }

  /** Resolves when nothing is waiting and no commit is under way. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return !this.committing && !this.scheduled && this.waiting.length === 0;
  }

  private schedule(): void {
    if (this.committing || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: lets every request handled in this turn join the group.
    setImmediate(() => {
      this.scheduled = false;
      void this.commitAll();
    });
  }

  private async commitAll(): Promise<void> {
    this.committing = true;
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      try {
        const results = await this.commit(group.map((waiting) => waiting.entry));
        group.forEach((waiting, index) => waiting.resolve(results[index] as R));
      } catch (error) {
        for (const waiting of group) waiting.reject(error);
      }
    }
    this.committing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
