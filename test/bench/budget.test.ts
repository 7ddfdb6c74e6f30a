import { describe, expect, it } from 'vitest';
import { evaluateBudget } from '../../bench/lib/budget.js';
import type { FixedRateResult } from '../../bench/lib/latency-run.js';
import type { VariantSummary } from '../../bench/lib/results.js';

const latencyRun = (p99: number, serverCpuCores: number): FixedRateResult => ({
  targetRps: 2000,
  achievedRps: 1999,
  latencyMs: { count: 1, mean: p99 / 4, p50: p99 / 5, p90: p99 / 2, p99, p999: p99, max: p99 },
  counts: {
    completed: 1,
    accepted: 1,
    rateLimited429: 0,
    unavailable503: 0,
    otherErrors: 0,
    timeouts: 0,
    networkErrors: 0,
    byStatus: { '202': 1 },
  },
  connections: 64,
  seconds: 120,
  loadgenCpuShare: 0.5,
  serverCpuCores,
  peakRssUnderLoadMiB: 250,
  notIngested: 0,
});

const latencyLine = (run: FixedRateResult) =>
  evaluateBudget({}, run, 2).find((line) => line.line.startsWith('p99 at 80%'));

describe('the budget line of p99 at 80% load', () => {
  it('is met under 25 ms and says how busy the server was', () => {
    const line = latencyLine(latencyRun(12, 0.81));
    expect(line?.met).toBe(true);
    expect(line?.measured).toContain('server 81% busy');
    expect(line?.measured).not.toContain('saturation');
  });

  it('says when the server was near saturation rather than at 80%', () => {
    const line = latencyLine(latencyRun(1800, 0.94));
    expect(line?.met).toBe(false);
    expect(line?.measured).toContain('near saturation, not at 80%');
  });
});

const variant = (rps: number, peakRssUnderLoadMiB: number): VariantSummary => ({
  label: 'x',
  description: 'x',
  cpus: '0',
  sharesLoadgenCore: false,
  runs: [],
  summary: {
    rps,
    minRps: rps,
    maxRps: rps,
    p50Ms: 1,
    p90Ms: 2,
    p99Ms: 3,
    serverCpuCores: 1,
    rpsPerServerCore: rps,
    peakRssUnderLoadMiB,
    peakRssLifetimeMiB: peakRssUnderLoadMiB,
    acceptedShare: 1,
    loadgenCpuShare: 0.1,
    interferenceCores: 0,
  },
});

describe('the budget line of memory with many apps', () => {
  const manyAppsLine = (held?: { seconds: number; rps: number; peakRssUnderLoadMiB: number }) =>
    evaluateBudget(
      { pharos: variant(3000, 240), apps: variant(2000, 270) },
      latencyRun(12, 0.8),
      2,
      held,
    ).find((line) => line.line === 'memory flat with many apps');

  it('compares the servers at steady state: the latency run for one app', () => {
    // One app: 250 MiB after the latency run (more than its 240 in the rounds); 270 is +20.
    const line = manyAppsLine();
    expect(line?.met).toBe(true);
    expect(line?.measured).toContain('270 MiB (+20 MiB over 250)');
  });

  it('takes the many-apps server held under load when it grew past its rounds', () => {
    const line = manyAppsLine({ seconds: 60, rps: 2100, peakRssUnderLoadMiB: 520 });
    expect(line?.met).toBe(false);
    expect(line?.measured).toContain('520 MiB (+270 MiB over 250)');
    expect(line?.measured).toContain('held 60 s');
  });
});
