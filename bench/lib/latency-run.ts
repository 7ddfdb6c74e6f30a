import { runLoad, type LatencySummary, type StatusCounts } from '../../src/loadgen/index.js';
import { scraperFor } from './measure.js';
import { BENCH_ORIGIN } from './pharos-instance.js';
import { sampleProcessTree } from './processes.js';
import type { ScrapeStats } from './scraper.js';
import { MiB, round } from './stats.js';
import type { RunningServer, Variant } from './variants.js';

export interface FixedRateResult {
  readonly targetRps: number;
  readonly achievedRps: number;
  /** Open loop, counted from when each request was due (no coordinated omission). */
  readonly latencyMs: LatencySummary;
  readonly counts: StatusCounts;
  readonly connections: number;
  /** How long the rate was held (measured part). */
  readonly seconds: number;
  readonly loadgenCpuShare: number;
  readonly serverCpuCores: number;
  readonly peakRssUnderLoadMiB: number;
  /** 2xx answers given without ingesting (duplicates, sampled out): must be 0. */
  readonly notIngested: number;
  /** When `scrapeEverySeconds` was set. */
  readonly scrapes?: ScrapeStats;
}

/**
 * The latency line of the budget: a fixed request rate (80% of the measured maximum), open loop,
 * with the bench's own load generator (wrk cannot hold a rate). It runs in this process, which
 * the bench pinned to the load generator's core.
 */
export async function measureAtFixedRate(
  variant: Variant,
  server: RunningServer,
  targetRps: number,
  settings: {
    readonly warmupSeconds: number;
    readonly durationSeconds: number;
    readonly gzipShare: number;
    readonly sessions: number;
    readonly connections: number;
    /** Scrape the server's `/metrics` this often while the rate is held, as Prometheus would. */
    readonly scrapeEverySeconds?: number;
  },
): Promise<FixedRateResult> {
  const apps = variant.apps.map((app) => ({ key: app.key, origin: BENCH_ORIGIN }));
  // A cold server (no JIT yet, the source map still loading) runs far below its maximum for a
  // second or two; offered a fixed rate meanwhile, it builds a backlog that the open-loop
  // latencies rightly count, and that says nothing about a warm server. Warm it up closed loop.
  if (settings.warmupSeconds > 0) {
    await runLoad({
      url: server.url,
      apps,
      concurrency: 32,
      sessions: settings.sessions,
      durationMs: settings.warmupSeconds * 1000,
      gzipShare: settings.gzipShare,
    });
  }
  let peakRss = 0;
  const skippedBefore = (await server.notIngested?.()) ?? 0;
  let before = sampleProcessTree(server.pid);
  let measuring = false;
  let startedAt = performance.now();
  const sampler = setInterval(() => {
    if (measuring) peakRss = Math.max(peakRss, sampleProcessTree(server.pid).rssBytes);
  }, 250);
  const scraper = scraperFor(server, settings.scrapeEverySeconds);
  let report;
  let scrapes: ScrapeStats | undefined;
  try {
    report = await runLoad(
      {
        url: server.url,
        apps,
        rate: targetRps,
        concurrency: settings.connections,
        sessions: settings.sessions,
        // One second at the rate before measuring, so the schedule starts settled.
        warmupMs: 1000,
        durationMs: settings.durationSeconds * 1000,
        gzipShare: settings.gzipShare,
        progressIntervalMs: 250,
      },
      {
        onProgress: (progress) => {
          if (progress.phase === 'measure' && !measuring) {
            measuring = true;
            before = sampleProcessTree(server.pid);
            startedAt = performance.now();
          }
        },
      },
    );
  } finally {
    clearInterval(sampler);
    scrapes = await scraper?.stop();
  }
  const after = sampleProcessTree(server.pid);
  // Counted from the warm-up at the rate on: a second more than measured, never less.
  const notIngested = ((await server.notIngested?.()) ?? 0) - skippedBefore;
  const wallSeconds = (performance.now() - startedAt) / 1000;
  return {
    targetRps: round(targetRps),
    achievedRps: report.achievedRps,
    latencyMs: report.latencyMs,
    counts: report.counts,
    connections: settings.connections,
    seconds: round(wallSeconds, 1),
    loadgenCpuShare: report.loadgenCpuShare,
    serverCpuCores: round((after.cpuSeconds - before.cpuSeconds) / wallSeconds, 2),
    peakRssUnderLoadMiB: round(Math.max(peakRss, after.rssBytes) / MiB, 1),
    notIngested,
    ...(scrapes ? { scrapes } : {}),
  };
}
