import { setTimeout as sleep } from 'node:timers/promises';
import { loadSessionSteps } from './fixtures.js';
import { createHttpSender } from './http-client.js';
import type { LatencySummary } from './latency.js';
import { resolveOptions, type LoadgenOptions } from './options.js';
import { createRandom } from './random.js';
import { createRequestSource } from './sessions.js';
import { Tally, type StatusCounts } from './tally.js';
import { checkTarget } from './target.js';

export interface LoadProgress {
  readonly phase: 'warmup' | 'measure';
  /** Milliseconds since the phase began. */
  readonly elapsedMs: number;
  readonly phaseMs: number;
  /** Answers per second over the last interval. */
  readonly intervalRps: number;
  readonly intervalLatency: LatencySummary;
  /** Measured so far (zero during warm-up). */
  readonly total: StatusCounts;
}

export interface LoadReport {
  readonly target: string;
  readonly mode: 'closed-loop' | 'open-loop';
  readonly concurrency: number;
  readonly targetRps: number | undefined;
  readonly sessions: number;
  readonly sessionsStarted: number;
  readonly gzipShare: number;
  readonly warmupSeconds: number;
  /** From the start of measuring to the last measured answer. */
  readonly durationSeconds: number;
  readonly stoppedBy: 'duration' | 'requests' | 'signal';
  /** Measured requests sent (started after the warm-up). */
  readonly sent: number;
  readonly achievedRps: number;
  /** 2xx answers per second. */
  readonly acceptedRps: number;
  readonly counts: StatusCounts;
  /**
   * Closed loop: from sending to the answer. Open loop: from when the request was due, so time
   * spent waiting for a free connection counts (no coordinated omission).
   */
  readonly latencyMs: LatencySummary;
  readonly byTenant: Readonly<Record<string, StatusCounts>>;
  /** Bytes of measured request bodies, as sent (compressed ones compressed). */
  readonly bodyBytesSent: number;
  /** The load generator's own CPU while measuring, as a share of one core (headroom check). */
  readonly loadgenCpuShare: number;
}

export interface LoadHooks {
  onProgress?(progress: LoadProgress): void;
  /** Stops sending; requests in flight are awaited and counted. */
  signal?: AbortSignal;
}

/**
 * Runs a load of simulated Faro sessions against a collector and measures it. See
 * `LoadgenOptions`; `pharos loadgen` is the command-line face of it and the bench calls it too.
 */
export async function runLoad(options: LoadgenOptions, hooks: LoadHooks = {}): Promise<LoadReport> {
  const opts = resolveOptions(options);
  const target = new URL(opts.url);
  await checkTarget(target, opts.allowRemote);
  const random = createRandom(opts.seed);
  const source = createRequestSource({
    steps: loadSessionSteps(opts.fixturesDir),
    apps: opts.apps,
    sessions: opts.sessions,
    gzipShare: opts.gzipShare,
    keyPlacement: opts.keyPlacement,
    collectPath: opts.collectPath,
    tenantHeader: opts.tenantHeader,
    random,
  });
  const sender = createHttpSender(target, opts.concurrency, opts.timeoutMs);

  const total = new Tally();
  const interval = new Tally();
  const startedAt = performance.now();
  const measureFrom = startedAt + opts.warmupMs;
  const measureUntil = measureFrom + opts.durationMs;
  let sent = 0;
  let bodyBytes = 0;
  let lastAnswerAt = measureFrom;
  let stoppedBy: LoadReport['stoppedBy'] = 'duration';
  let cpuAtMeasure: NodeJS.CpuUsage | undefined;

  const shouldStop = (now: number): boolean => {
    if (hooks.signal?.aborted) stoppedBy = 'signal';
    else if (opts.maxRequests !== undefined && sent >= opts.maxRequests) stoppedBy = 'requests';
    else return now >= measureUntil;
    return true;
  };

  /** Sends one request due at `dueAt` (open loop) or now (closed loop), and counts it. */
  const sendOne = async (dueAt: number | undefined): Promise<void> => {
    const request = source.next();
    const sentAt = performance.now();
    const measured = (dueAt ?? sentAt) >= measureFrom;
    if (measured) {
      sent++;
      cpuAtMeasure ??= process.cpuUsage();
    }
    if (measured) bodyBytes += request.body.length;
    const result = await sender.send(request);
    const now = performance.now();
    // Late requests count from when they were due; one sent a little early, from when it went.
    const latencyMs = now - Math.min(dueAt ?? sentAt, sentAt);
    interval.record(result, latencyMs, request.tenant);
    if (measured) {
      total.record(result, latencyMs, request.tenant);
      lastAnswerAt = Math.max(lastAnswerAt, now);
    }
  };

  const worker =
    opts.rate === undefined ? closedLoopWorker(shouldStop, sendOne) : openLoopWorker(opts.rate);

  function openLoopWorker(rate: number) {
    const gapMs = 1000 / rate;
    let slot = 0;
    return async (): Promise<void> => {
      for (;;) {
        // Workers take slots in turn: a slot's time is fixed by the schedule, not by answers.
        const dueAt = startedAt + slot++ * gapMs;
        const wait = dueAt - performance.now();
        if (wait >= 1) await sleep(wait);
        if (shouldStop(performance.now())) return;
        await sendOne(dueAt);
      }
    };
  }

  let phaseStart = startedAt;
  let phase: LoadProgress['phase'] = opts.warmupMs > 0 ? 'warmup' : 'measure';
  let lastTick = startedAt;
  const ticker = setInterval(() => {
    const now = performance.now();
    if (phase === 'warmup' && now >= measureFrom) {
      phase = 'measure';
      phaseStart = measureFrom;
    }
    hooks.onProgress?.({
      phase,
      elapsedMs: now - phaseStart,
      phaseMs: phase === 'warmup' ? opts.warmupMs : opts.durationMs,
      intervalRps: (interval.counts().completed * 1000) / (now - lastTick),
      intervalLatency: interval.latencySummary(),
      total: total.counts(),
    });
    interval.reset();
    lastTick = now;
  }, opts.progressIntervalMs);

  try {
    await Promise.all(Array.from({ length: opts.concurrency }, () => worker()));
  } finally {
    clearInterval(ticker);
    sender.close();
  }

  const cpu = process.cpuUsage(cpuAtMeasure);
  const seconds = Math.max(0.001, (lastAnswerAt - measureFrom) / 1000);
  const counts = total.counts();
  return {
    target: target.origin,
    mode: opts.rate === undefined ? 'closed-loop' : 'open-loop',
    concurrency: opts.concurrency,
    targetRps: opts.rate,
    sessions: opts.sessions,
    sessionsStarted: source.sessionsStarted,
    gzipShare: opts.gzipShare,
    warmupSeconds: opts.warmupMs / 1000,
    durationSeconds: round(seconds, 3),
    stoppedBy,
    sent,
    achievedRps: round(counts.completed / seconds, 1),
    acceptedRps: round(counts.accepted / seconds, 1),
    counts,
    latencyMs: total.latencySummary(),
    byTenant: total.byTenant(),
    bodyBytesSent: bodyBytes,
    loadgenCpuShare: cpuAtMeasure ? round((cpu.user + cpu.system) / 1e6 / seconds, 3) : 0,
  };
}

function closedLoopWorker(
  shouldStop: (now: number) => boolean,
  sendOne: (dueAt: undefined) => Promise<void>,
) {
  return async (): Promise<void> => {
    while (!shouldStop(performance.now())) await sendOne(undefined);
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
