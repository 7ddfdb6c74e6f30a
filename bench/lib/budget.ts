import type { FixedRateResult } from './latency-run.js';
import type { BudgetLine, ManyAppsHold, VariantSummary } from './results.js';
import { round } from './stats.js';
import { ALLOY_RPS_PER_CORE } from './table.js';
import type { VariantName } from './variants.js';

/** DESIGN.md "Performance budget", line by line. */
export const BUDGET = {
  rpsPerCore: 10_000,
  shareOfBare: 0.5,
  p99AtEightyPercentMs: 25,
  rssMiB: 300,
  /** "Scales": N workers reach at least this share of N × one worker's requests per core. */
  workerEfficiency: 0.8,
  /** "Flat": 10,000 apps cost at most this much more memory than one. */
  manyAppsExtraMiB: 50,
} as const;

/** Server CPU during the 80% run above which it was not really at 80% of its maximum. */
const SATURATED_CORES = 0.9;

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');

export function evaluateBudget(
  variants: Partial<Record<VariantName, VariantSummary>>,
  latency: FixedRateResult | undefined,
  workers: number,
  manyAppsHeld?: ManyAppsHold,
): BudgetLine[] {
  const { pharos, bare, workers: clustered, apps } = variants;
  const lines: BudgetLine[] = [];
  lines.push({
    line: 'requests/s on one core, full pipeline',
    target: `≥ ${fmt(BUDGET.rpsPerCore)}`,
    measured: pharos
      ? `${fmt(pharos.summary.rps)} (${fmt(pharos.summary.rpsPerServerCore)} per core used: ${round(pharos.summary.rpsPerServerCore / ALLOY_RPS_PER_CORE, 1)}× Alloy's ${fmt(ALLOY_RPS_PER_CORE)})`
      : 'not run',
    met: pharos ? pharos.summary.rps >= BUDGET.rpsPerCore : undefined,
  });
  const share = pharos && bare ? pharos.summary.rps / bare.summary.rps : undefined;
  lines.push({
    line: 'share of the bare server, same run',
    target: `≥ ${BUDGET.shareOfBare * 100}%`,
    measured:
      share !== undefined
        ? `${round(share * 100, 1)}% (bare ${fmt(bare?.summary.rps ?? 0)})`
        : 'not run',
    met: share !== undefined ? share >= BUDGET.shareOfBare : undefined,
  });
  lines.push({
    line: 'p99 at 80% of the maximum rate',
    target: `< ${BUDGET.p99AtEightyPercentMs} ms`,
    measured: latency
      ? `${latency.latencyMs.p99} ms at ${fmt(latency.achievedRps)} req/s (target ${fmt(latency.targetRps)}), server ${Math.round(latency.serverCpuCores * 100)}% busy` +
        // The target is 80% of a maximum measured minutes earlier; a machine that slowed
        // meanwhile runs the server near saturation, and the p99 is then a backlog's.
        (latency.serverCpuCores >= SATURATED_CORES
          ? ': near saturation, not at 80% (the machine was slower than in the rounds)'
          : '')
      : 'not run',
    met: latency
      ? latency.latencyMs.p99 < BUDGET.p99AtEightyPercentMs &&
        latency.achievedRps >= 0.95 * latency.targetRps
      : undefined,
  });
  const rss = Math.max(pharos?.summary.peakRssUnderLoadMiB ?? 0, latency?.peakRssUnderLoadMiB ?? 0);
  lines.push({
    line: 'peak RSS at full load (one process)',
    target: `< ${BUDGET.rssMiB} MiB`,
    measured: pharos ? `${rss} MiB` : 'not run',
    met: pharos ? rss < BUDGET.rssMiB : undefined,
  });
  if (pharos && clustered) {
    const efficiency = clustered.summary.rpsPerServerCore / pharos.summary.rpsPerServerCore;
    const speedup = clustered.summary.rps / pharos.summary.rps;
    lines.push({
      line: `--workers ${workers} scales`,
      target: `≥ ${BUDGET.workerEfficiency * 100}% of one worker's req/s per core, and more req/s`,
      measured: `${round(speedup, 2)}× the req/s on CPUs ${clustered.cpus ?? 'any'}${clustered.sharesLoadgenCore ? ' (shared with the load generator)' : ''}; ${round(efficiency * 100, 1)}% per core`,
      met: efficiency >= BUDGET.workerEfficiency && speedup > 1,
    });
  } else {
    lines.push({ line: '--workers scales', target: '', measured: 'not run', met: undefined });
  }
  if (pharos && apps) {
    // Both at steady state where measured: one app over the latency run, many apps held.
    const oneApp = rss;
    const manyApps = Math.max(
      apps.summary.peakRssUnderLoadMiB,
      manyAppsHeld?.peakRssUnderLoadMiB ?? 0,
    );
    const extra = manyApps - oneApp;
    lines.push({
      line: 'memory flat with many apps',
      target: `≤ +${BUDGET.manyAppsExtraMiB} MiB over one app, < ${BUDGET.rssMiB} MiB`,
      measured:
        `${manyApps} MiB (${extra >= 0 ? '+' : ''}${round(extra, 1)} MiB over ${oneApp}); ${fmt(apps.summary.rps)} req/s` +
        (manyAppsHeld ? `; held ${Math.round(manyAppsHeld.seconds)} s` : ''),
      met: extra <= BUDGET.manyAppsExtraMiB && manyApps < BUDGET.rssMiB,
    });
  } else {
    lines.push({
      line: 'memory flat with many apps',
      target: '',
      measured: 'not run',
      met: undefined,
    });
  }
  return lines;
}
