import type { BenchResults } from './results.js';
import type { ScrapeStats } from './scraper.js';
import { round } from './stats.js';
import type { VariantName } from './variants.js';

const fmt = (value: number) =>
  Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–';
/** Alloy's published figure for its `faro.receiver`: about 1,500 requests/s per CPU core. */
export const ALLOY_RPS_PER_CORE = 1500;

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '–');

/** The results as a Markdown table (what the README's Performance section holds). */
export function resultsTable(results: BenchResults): string {
  const bare = results.variants.bare?.summary.rps;
  const rows = [
    '| server | req/s (median) | min–max | p50 ms | p90 ms | p99 ms | server CPU | CPU µs/request | peak RSS | vs bare | req/s per core vs Alloy |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const order: VariantName[] = ['pharos', 'candidate', 'bare', 'workers', 'apps'];
  for (const name of order) {
    const variant = results.variants[name];
    if (!variant) continue;
    const s = variant.summary;
    rows.push(
      `| ${variant.label} | ${fmt(s.rps)} | ${fmt(s.minRps)}–${fmt(s.maxRps)} | ${ms(s.p50Ms)} | ${ms(s.p90Ms)} | ${ms(s.p99Ms)} | ${s.serverCpuCores.toFixed(2)} cores | ${fmt(1e6 / s.rpsPerServerCore)} | ${s.peakRssUnderLoadMiB} MiB | ${bare ? `${round((s.rps / bare) * 100)}%` : '–'} | ${name === 'bare' ? '–' : `${round(s.rpsPerServerCore / ALLOY_RPS_PER_CORE, 1)}×`} |`,
    );
  }
  const latency = results.latencyAt80;
  if (latency) {
    rows.push(
      '',
      `At 80% of the maximum (${fmt(latency.targetRps)} req/s, open loop, ${latency.connections} connections): ` +
        `${fmt(latency.achievedRps)} req/s, p50 ${ms(latency.latencyMs.p50)} ms, p90 ${ms(latency.latencyMs.p90)} ms, ` +
        `p99 ${ms(latency.latencyMs.p99)} ms, p99.9 ${ms(latency.latencyMs.p999)} ms, max ${ms(latency.latencyMs.max)} ms; ` +
        `held ${fmt(latency.seconds)} s, peak RSS ${latency.peakRssUnderLoadMiB} MiB${scraped(latency.scrapes)}.`,
    );
  }
  const held = results.manyAppsHeld;
  if (held) {
    rows.push(
      '',
      `Many apps held under load (closed loop) for ${fmt(held.seconds)} s: ${fmt(held.rps)} req/s, peak RSS ${held.peakRssUnderLoadMiB} MiB${scraped(held.scrapes)}.`,
    );
  }
  return rows.join('\n');
}

export function budgetTable(results: BenchResults): string {
  const rows = ['| budget line | target | measured | met |', '| --- | --- | --- | --- |'];
  for (const line of results.budget) {
    const met = line.met === undefined ? '–' : line.met ? 'yes' : '**no**';
    rows.push(`| ${line.line} | ${line.target} | ${line.measured} | ${met} |`);
  }
  return rows.join('\n');
}

/** `; /metrics scraped 4× (every 15 s): median 12 ms, max 20 ms, 1.2 MiB` */
function scraped(scrapes: ScrapeStats | undefined): string {
  if (scrapes === undefined) return '';
  return (
    `; /metrics scraped ${scrapes.count}× (every ${scrapes.everySeconds} s): ` +
    `median ${scrapes.medianMs} ms, max ${scrapes.maxMs} ms, ${(scrapes.bytes / 2 ** 20).toFixed(1)} MiB`
  );
}
