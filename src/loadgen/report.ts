import type { LoadProgress, LoadReport } from './runner.js';
import type { StatusCounts } from './tally.js';

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** One progress line: `measure  3/10 s   9,812 req/s   p99 4.1 ms   202: 29,400  429: 0 ...`. */
export function formatProgress(progress: LoadProgress): string {
  const seconds = Math.min(progress.elapsedMs, progress.phaseMs) / 1000;
  const parts = [
    `${progress.phase.padEnd(7)} ${decimal.format(seconds).padStart(5)}/${decimal.format(progress.phaseMs / 1000)} s`,
    `${number.format(progress.intervalRps).padStart(7)} req/s`,
    `p99 ${decimal.format(progress.intervalLatency.p99)} ms`,
  ];
  if (progress.phase === 'measure') parts.push(formatCounts(progress.total));
  return parts.join('   ');
}

/** The final summary, for people. `--json` prints the report itself. */
export function formatReport(report: LoadReport): string {
  const { latencyMs: latency, counts } = report;
  const lines = [
    `target      ${report.target} (${report.mode}, ${report.concurrency} connections${report.targetRps !== undefined ? `, target ${number.format(report.targetRps)} req/s` : ''})`,
    `sessions    ${number.format(report.sessions)} at once, ${number.format(report.sessionsStarted)} started; gzip share ${decimal.format(report.gzipShare)}`,
    `measured    ${decimal.format(report.durationSeconds)} s after ${decimal.format(report.warmupSeconds)} s warm-up; stopped by ${report.stoppedBy}`,
    `requests    ${number.format(report.sent)} sent, ${number.format(counts.completed)} answered: ${number.format(report.achievedRps)} req/s (${number.format(report.acceptedRps)} accepted/s)`,
    `latency     p50 ${decimal.format(latency.p50)} ms   p90 ${decimal.format(latency.p90)} ms   p99 ${decimal.format(latency.p99)} ms   p99.9 ${decimal.format(latency.p999)} ms   max ${decimal.format(latency.max)} ms`,
    `answers     ${formatCounts(counts)}`,
    `load gen    ${decimal.format(report.loadgenCpuShare * 100)}% of one core; ${number.format(report.bodyBytesSent / 1024)} KiB of bodies sent`,
  ];
  const tenants = Object.entries(report.byTenant);
  if (tenants.length > 1 && tenants.length <= 20) {
    for (const [tenant, tenantCounts] of tenants)
      lines.push(`  ${tenant.padEnd(12)} ${formatCounts(tenantCounts)}`);
  } else if (tenants.length > 20) {
    lines.push(`tenants     ${tenants.length} (per-tenant counts in --json)`);
  }
  return lines.join('\n');
}

function formatCounts(counts: StatusCounts): string {
  const statuses = Object.entries(counts.byStatus)
    .filter(([status]) => status !== '429' && status !== '503')
    .map(([status, count]) => `${status}: ${number.format(count)}`);
  statuses.push(
    `429: ${number.format(counts.rateLimited429)}`,
    `503: ${number.format(counts.unavailable503)}`,
  );
  if (counts.timeouts > 0) statuses.push(`timeouts: ${number.format(counts.timeouts)}`);
  if (counts.networkErrors > 0)
    statuses.push(`network errors: ${number.format(counts.networkErrors)}`);
  return statuses.join('  ');
}
