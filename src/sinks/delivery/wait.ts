/** Waits `ms`, or less if `signal` aborts first; never rejects. Injectable for tests. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** Wakes whoever waits, when something they may be waiting for happened. */
export class Doorbell {
  private waiters: Array<() => void> = [];

  ring(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Fires once, and wakes every wait under way then or later. A sender waits on it many times a
 * second for its whole life, so each wait gets its own promise, forgotten when the wait ends.
 * Racing one long-lived promise instead (`Promise.race([sleep, stopping])`) leaves a reaction on
 * it for every race until it settles: a leak that grows with uptime.
 */
export class Latch {
  private fired = false;
  private readonly waiters = new Set<() => void>();

  fire(): void {
    if (this.fired) return;
    this.fired = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Waits under way (for tests: it must not grow with the number of waits). */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Runs `wait` with a promise that resolves when the latch fires, and forgets it afterwards. */
  async during<T>(wait: (fired: Promise<void>) => Promise<T>): Promise<T> {
    let wake!: () => void;
    const fired = new Promise<void>((resolve) => (wake = resolve));
    if (this.fired) wake();
    else this.waiters.add(wake);
    try {
      return await wait(fired);
    } finally {
      this.waiters.delete(wake);
    }
  }
}

/** Whether `promise` settled within `ms` (real time: this bounds shutdown, it is not logic). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
