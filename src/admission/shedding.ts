import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, Registry } from 'prom-client';

export interface LoadShedderOptions {
  /** `shedding.maxEventLoopDelay` (ms). 0 turns shedding off (the delay is still measured). */
  maxEventLoopDelayMs: number;
  /** Where the gauges are registered (Pharos's own registry). */
  metricsRegistry?: Registry;
  /** `Retry-After` of a shed request (s); recovery takes about one window. Default 2. */
  retryAfterSeconds?: number;
  /** Length of the window the p99 is taken over (ms). Default 1000. */
  windowMs?: number;
  /**
   * Sampling interval of the event-loop delay (ms). Default 10, as prom-client's lag metrics; two
   * samplers cost about 0.4 % of an idle core (1 % at 2 ms).
   */
  resolutionMs?: number;
  /** How often the p99 is recomputed (ms). Default 100. */
  refreshMs?: number;
}

/** Whether to refuse new ingest requests, read once per request. */
export interface LoadShedder {
  /**
   * Starts measuring; call it when the server becomes ready. Nothing is shed before, nor during
   * the first window after it: start-up's own work and a new process's first requests (code
   * compiled on first use) are not load, and shedding them would only slow a new replica's start.
   */
  start(): void;
  /** True while the event-loop delay (p99 over the window) is over the limit. A field read. */
  readonly overloaded: boolean;
  /** The event-loop delay shedding compares: p99 over the last window, in ms. */
  readonly delayMs: number;
  readonly retryAfterSeconds: number;
  /** Why a request is shed, for the 503 body. */
  message(): string;
  close(): void;
}

/**
 * Load shedding on event-loop delay. A process whose event loop lags is already late on every
 * request it holds; taking more only makes all of them later (and time out in the browser,
 * which then retries). Refusing new ingest requests with 503 + Retry-After, before their body
 * is read, lets it catch up; the Faro SDK retries the batch after Retry-After.
 *
 * The delay is `perf_hooks.monitorEventLoopDelay` (a libuv timer sampling every `resolutionMs`,
 * no JavaScript per sample). Its histogram only accumulates, and resetting it drops the interval
 * in progress, so two histograms run staggered by half a window and each is reset once per
 * window: the older one always holds between half a window and a whole window of samples, and
 * its p99 is the reading. A timer recomputes it every `refreshMs`; requests read a field.
 *
 * What the p99 means: the reading window holds 50 to 100 samples at 10 ms (fewer while the loop
 * lags). One stall over the limit is the p99 only while the window holds at most 50 samples (the
 * percentile's rank is rounded), so it may shed for up to about half a window; two or more
 * stalls over the limit within the window always are. Shedding thus answers lag that lasts or
 * recurs, which more requests would make worse, more surely than a single pause.
 *
 * After a stall, this timer may run before the samplers' own timers have recorded it, and a reset
 * then would drop the stall (a stall longer than half a window would span both resets and never
 * be seen). So a tick that comes far behind schedule resets nothing; it staggers the two windows
 * again from now instead, and the stall, recorded right after, stays in view for a whole window.
 */
export function createLoadShedder(options: LoadShedderOptions): LoadShedder {
  const windowMs = options.windowMs ?? 1000;
  const resolutionMs = options.resolutionMs ?? 10;
  const retryAfterSeconds = options.retryAfterSeconds ?? 2;
  const limitMs = options.maxEventLoopDelayMs;

  const monitors = [0, 1].map(() => ({
    histogram: monitorEventLoopDelay({ resolution: resolutionMs }),
    since: 0,
  }));
  const state = { overloaded: false, delayMs: 0 };

  const refreshMs = options.refreshMs ?? 100;
  let lastTickAt = 0;
  let sheddingFrom = Infinity;

  const refresh = () => {
    const now = performance.now();
    const stalled = now - lastTickAt > 2 * refreshMs;
    lastTickAt = now;
    const [older, younger] =
      monitors[0]!.since <= monitors[1]!.since
        ? [monitors[0]!, monitors[1]!]
        : [monitors[1]!, monitors[0]!];
    if (stalled) {
      if (now - older.since >= windowMs) {
        older.since = now - windowMs / 2;
        younger.since = now;
      }
    } else {
      for (const monitor of monitors) {
        if (now - monitor.since >= windowMs) {
          monitor.histogram.reset();
          monitor.since = now;
        }
      }
    }
    const reading = monitors[0]!.since <= monitors[1]!.since ? monitors[0]! : monitors[1]!;
    state.delayMs = delayOf(reading.histogram, resolutionMs);
    state.overloaded = limitMs > 0 && state.delayMs > limitMs && now >= sheddingFrom;
  };
  let timer: NodeJS.Timeout | undefined;

  const registers = [options.metricsRegistry ?? new Registry()];
  new Gauge({
    name: 'pharos_event_loop_delay_seconds',
    help: 'Event-loop delay that load shedding compares with shedding.maxEventLoopDelay: p99 over the last second.',
    registers,
    collect() {
      this.set(state.delayMs / 1000);
    },
  });
  new Gauge({
    name: 'pharos_load_shedding',
    help: '1 while new ingest requests are refused with 503 because the event-loop delay is over shedding.maxEventLoopDelay.',
    registers,
    collect() {
      this.set(state.overloaded ? 1 : 0);
    },
  });

  return {
    start() {
      if (timer !== undefined) return;
      const now = performance.now();
      monitors.forEach((monitor, index) => {
        monitor.histogram.enable();
        // The second one starts as if half a window old, so the two reset half a window apart.
        monitor.since = now - (index * windowMs) / 2;
      });
      lastTickAt = now;
      sheddingFrom = now + windowMs;
      timer = setInterval(refresh, refreshMs);
      timer.unref();
    },
    get overloaded() {
      return state.overloaded;
    },
    get delayMs() {
      return state.delayMs;
    },
    retryAfterSeconds,
    message: () =>
      `Pharos is overloaded: its event-loop delay (p99 over the last second) is ${Math.round(state.delayMs)} ms, over ${limitMs} ms; retry after ${retryAfterSeconds} s`,
    close() {
      clearInterval(timer);
      timer = undefined;
      state.overloaded = false;
      for (const { histogram } of monitors) histogram.disable();
    },
  };
}

/** p99 of the samples, less the sampling interval itself (each sample is interval + lateness). */
function delayOf(histogram: IntervalHistogram, resolutionMs: number): number {
  if (histogram.count === 0) return 0;
  return Math.max(0, histogram.percentile(99) / 1e6 - resolutionMs);
}
