import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad } from '../../src/loadgen/index.js';
import { BENCH_ORIGIN, type BenchApp } from './pharos-instance.js';
import { busyCores, cpuTimes, sampleProcessTree } from './processes.js';
import { MiB, round } from './stats.js';
import type { RunningServer, Variant } from './variants.js';
import { startScraper, type ScrapeStats } from './scraper.js';
import { runWrk } from './wrk.js';

export type GeneratorKind = 'wrk' | 'loadgen';

export interface LoadSettings {
  readonly generator: GeneratorKind;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly gzipShare: number;
  readonly sessions: number;
  readonly loadgenCpu: string | undefined;
  /** wrk's request pool (see request-pool.ts). */
  readonly poolFile: string;
  readonly workDir: string;
  /** Scrape the server's `/metrics` this often while measuring, as Prometheus would. */
  readonly scrapeEverySeconds?: number;
}

export interface LatencyMs {
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** One measured run of one server. */
export interface RunResult {
  readonly round: number;
  readonly launcher: string;
  readonly generator: GeneratorKind;
  readonly seconds: number;
  readonly requests: number;
  readonly rps: number;
  /** Share of answers that were 2xx: below 0.99 the run measured refusals, not work. */
  readonly acceptedShare: number;
  /** 2xx answers Pharos gave without ingesting (duplicates, sampled out): must be 0. */
  readonly notIngested: number;
  readonly latencyMs: LatencyMs;
  readonly statuses: Readonly<Record<string, number>>;
  readonly socketErrors: number;
  /** Server CPU seconds per wall second while measured (1 = one core busy). */
  readonly serverCpuCores: number;
  /** Requests per second per core the server used: what the code costs, whatever the pinning. */
  readonly rpsPerServerCore: number;
  /** Highest resident memory sampled while measured, summed over the server's processes. */
  readonly peakRssUnderLoadMiB: number;
  /** Lifetime peak (VmHWM) of the server's processes, summed (start-up included). */
  readonly peakRssLifetimeMiB: number;
  /** The load generator's CPU seconds per wall second (how close it came to its own limit). */
  readonly loadgenCpuShare: number;
  /**
   * Cores' worth of other processes on the server's CPUs while measured (their busy time minus
   * the server's): other work on a noisy machine, or the load generator when cores are shared.
   */
  readonly interferenceCores: number;
  /** When `scrapeEverySeconds` was set. */
  readonly scrapes?: ScrapeStats;
}

interface GeneratorResult {
  readonly requests: number;
  readonly seconds: number;
  readonly latencyMs: LatencyMs;
  readonly statuses: Readonly<Record<string, number>>;
  readonly socketErrors: number;
  readonly loadgenCpuSeconds: number;
}

/** Warms the server up, then measures it, sampling its CPU and memory from /proc. */
export async function measureRun(
  variant: Variant,
  server: RunningServer,
  roundNumber: number,
  settings: LoadSettings,
): Promise<RunResult> {
  const keysFile = join(settings.workDir, `keys-${variant.name}.txt`);
  writeFileSync(keysFile, `${variant.apps.map((app) => app.key).join('\n')}\n`);
  const generate = (seconds: number) =>
    settings.generator === 'wrk'
      ? runWithWrk(server.url, keysFile, seconds, settings)
      : runWithLoadgen(server.url, variant.apps, seconds, settings);

  if (settings.warmupSeconds > 0) await generate(settings.warmupSeconds);
  const skippedBefore = (await server.notIngested?.()) ?? 0;
  const before = sampleProcessTree(server.pid);
  const cpusBefore = cpuTimes();
  let peakRss = before.rssBytes;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, sampleProcessTree(server.pid).rssBytes);
  }, 250);
  const scraper = scraperFor(server, settings.scrapeEverySeconds);
  const startedAt = performance.now();
  let result: GeneratorResult;
  let scrapes: ScrapeStats | undefined;
  try {
    result = await generate(settings.durationSeconds);
  } finally {
    clearInterval(sampler);
    scrapes = await scraper?.stop();
  }
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const after = sampleProcessTree(server.pid);
  const serverCpusBusy =
    variant.cpus === undefined ? NaN : busyCores(cpusBefore, cpuTimes(), variant.cpus);
  peakRss = Math.max(peakRss, after.rssBytes);

  const skippedAfter = (await server.notIngested?.()) ?? 0;
  const answered = Object.values(result.statuses).reduce((sum, count) => sum + count, 0);
  const accepted = Object.entries(result.statuses)
    .filter(([status]) => status.startsWith('2'))
    .reduce((sum, [, count]) => sum + count, 0);
  const rps = result.requests / result.seconds;
  const serverCpuCores = (after.cpuSeconds - before.cpuSeconds) / wallSeconds;
  return {
    round: roundNumber,
    launcher: server.launcher,
    generator: settings.generator,
    seconds: round2(result.seconds),
    requests: result.requests,
    rps: round(rps),
    acceptedShare: answered === 0 ? 0 : round(accepted / answered, 4),
    notIngested: skippedAfter - skippedBefore,
    latencyMs: result.latencyMs,
    statuses: result.statuses,
    socketErrors: result.socketErrors,
    serverCpuCores: round2(serverCpuCores),
    rpsPerServerCore: serverCpuCores > 0 ? round(rps / serverCpuCores) : NaN,
    peakRssUnderLoadMiB: round(peakRss / MiB, 1),
    peakRssLifetimeMiB: round(after.peakRssBytes / MiB, 1),
    loadgenCpuShare: round2(result.loadgenCpuSeconds / wallSeconds),
    interferenceCores: round2(Math.max(0, serverCpusBusy - serverCpuCores)),
    ...(scrapes ? { scrapes } : {}),
  };
}

async function runWithWrk(
  url: string,
  keysFile: string,
  seconds: number,
  settings: LoadSettings,
): Promise<GeneratorResult> {
  const wrk = await runWrk({
    url,
    poolFile: settings.poolFile,
    keysFile,
    connections: settings.connections,
    durationSeconds: seconds,
    cpus: settings.loadgenCpu,
  });
  return {
    requests: wrk.requests,
    seconds: wrk.seconds,
    latencyMs: wrk.latencyMs,
    statuses: wrk.statuses,
    socketErrors: wrk.socketErrors,
    loadgenCpuSeconds: wrk.cpuSeconds,
  };
}

/** Without wrk, the bench's own load generator, closed loop (it runs in this process). */
async function runWithLoadgen(
  url: string,
  apps: readonly BenchApp[],
  seconds: number,
  settings: LoadSettings,
): Promise<GeneratorResult> {
  const report = await runLoad({
    url,
    apps: apps.map((app) => ({ key: app.key, origin: BENCH_ORIGIN })),
    concurrency: settings.connections,
    sessions: settings.sessions,
    durationMs: seconds * 1000,
    gzipShare: settings.gzipShare,
  });
  return {
    requests: report.counts.completed,
    seconds: report.durationSeconds,
    latencyMs: report.latencyMs,
    statuses: report.counts.byStatus,
    socketErrors: report.counts.networkErrors + report.counts.timeouts,
    loadgenCpuSeconds: report.loadgenCpuShare * report.durationSeconds,
  };
}

function round2(value: number): number {
  return round(value, 2);
}

/** A scraper of the server's `/metrics`, when asked for and the server has one. */
export function scraperFor(server: RunningServer, everySeconds: number | undefined) {
  if (everySeconds === undefined || everySeconds <= 0 || server.metricsUrl === undefined)
    return undefined;
  return startScraper(server.metricsUrl, everySeconds);
}
