import type { FixedRateResult } from './latency-run.js';
import type { GeneratorKind, RunResult } from './measure.js';
import type { ScrapeStats } from './scraper.js';
import { median, round } from './stats.js';
import type { Variant, VariantName } from './variants.js';

export interface ManyAppsHold {
  readonly seconds: number;
  readonly rps: number;
  readonly peakRssUnderLoadMiB: number;
  /** `/metrics` scraped while held (`--scrape-every`). */
  readonly scrapes?: ScrapeStats;
}

export interface VariantSummary {
  readonly label: string;
  readonly description: string;
  readonly cpus: string | null;
  readonly sharesLoadgenCore: boolean;
  readonly runs: readonly RunResult[];
  /** Medians over the rounds, except memory (the highest) and the accepted share (the lowest). */
  readonly summary: {
    readonly rps: number;
    readonly minRps: number;
    readonly maxRps: number;
    readonly p50Ms: number;
    readonly p90Ms: number;
    readonly p99Ms: number;
    readonly serverCpuCores: number;
    readonly rpsPerServerCore: number;
    readonly peakRssUnderLoadMiB: number;
    readonly peakRssLifetimeMiB: number;
    readonly acceptedShare: number;
    readonly loadgenCpuShare: number;
    readonly interferenceCores: number;
  };
}

export interface BudgetLine {
  readonly line: string;
  readonly target: string;
  readonly measured: string;
  /** Undefined when the run could not tell (a variant was skipped). */
  readonly met: boolean | undefined;
}

export interface BenchResults {
  readonly schema: 1;
  readonly date: string;
  readonly mode: 'full' | 'smoke';
  readonly machine: {
    readonly node: string;
    readonly cpu: string;
    readonly cores: number;
    readonly loadAverageBefore: readonly number[];
    readonly loadAverageAfter: readonly number[];
    readonly pinning: { readonly server: string | null; readonly loadgen: string | null };
  };
  readonly settings: {
    readonly generator: GeneratorKind;
    readonly rounds: number;
    readonly warmupSeconds: number;
    readonly durationSeconds: number;
    readonly connections: number;
    readonly gzipShare: number;
    readonly sessions: number;
    readonly poolRequests: number;
    readonly workers: number;
    readonly manyApps: { readonly tenants: number; readonly appsPerTenant: number };
    readonly order: readonly (readonly VariantName[])[];
  };
  readonly variants: Partial<Record<VariantName, VariantSummary>>;
  readonly latencyAt80?: FixedRateResult & { readonly variant: VariantName };
  /** The many-apps server held under load (closed loop) for its steady-state memory. */
  readonly manyAppsHeld?: ManyAppsHold;
  readonly budget: readonly BudgetLine[];
  readonly notes: readonly string[];
}

export function summarise(variant: Variant, runs: readonly RunResult[]): VariantSummary {
  const of = (pick: (run: RunResult) => number) => runs.map(pick);
  return {
    label: variant.label,
    description: variant.description,
    cpus: variant.cpus ?? null,
    sharesLoadgenCore: variant.sharesLoadgenCore,
    runs,
    summary: {
      rps: round(median(of((run) => run.rps))),
      minRps: Math.min(...of((run) => run.rps)),
      maxRps: Math.max(...of((run) => run.rps)),
      p50Ms: round(median(of((run) => run.latencyMs.p50)), 2),
      p90Ms: round(median(of((run) => run.latencyMs.p90)), 2),
      p99Ms: round(median(of((run) => run.latencyMs.p99)), 2),
      serverCpuCores: round(median(of((run) => run.serverCpuCores)), 2),
      rpsPerServerCore: round(median(of((run) => run.rpsPerServerCore))),
      peakRssUnderLoadMiB: Math.max(...of((run) => run.peakRssUnderLoadMiB)),
      peakRssLifetimeMiB: Math.max(...of((run) => run.peakRssLifetimeMiB)),
      acceptedShare: Math.min(...of((run) => run.acceptedShare)),
      loadgenCpuShare: round(median(of((run) => run.loadgenCpuShare)), 2),
      interferenceCores: round(median(of((run) => run.interferenceCores)), 2),
    },
  };
}
