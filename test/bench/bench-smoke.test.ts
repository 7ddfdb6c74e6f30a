import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `npm run bench -- --smoke`: every variant for a second, so the bench cannot rot. It checks that
 * the run completes and what the results file holds, never a timing: CI machines are too noisy to
 * assert one, and the budget is read from the full run.
 */
describe('npm run bench --smoke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every variant and writes the results', { timeout: 240_000 }, async () => {
    expect(existsSync(join(ROOT, 'dist/cli/main.js')), 'run npm run build first').toBe(true);
    const out = join(dir, 'smoke.json');
    const { code, output } = await run(process.execPath, [
      '--import',
      'tsx',
      'bench/run.ts',
      '--smoke',
      '--no-build',
      '--out',
      out,
    ]);
    expect(code, output).toBe(0);

    const results = JSON.parse(readFileSync(out, 'utf8')) as SmokeResults;
    expect(results.schema).toBe(1);
    expect(results.mode).toBe('smoke');
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(Object.keys(results.variants).sort()).toEqual(['apps', 'bare', 'pharos', 'workers']);
    for (const [name, variant] of Object.entries(results.variants)) {
      expect(variant.runs.length, name).toBe(1);
      // Every request must have gone through the pipeline: a duplicate idempotency key or a
      // sampled-out session is answered 202 without the work, and would flatter the figures.
      for (const run of variant.runs) expect(run.notIngested, `${name} not ingested`).toBe(0);
      const summary = variant.summary;
      for (const field of ['rps', 'p50Ms', 'p99Ms', 'serverCpuCores', 'peakRssUnderLoadMiB'])
        expect(summary[field], `${name}.${field}`).toBeGreaterThan(0);
      // Every answer of a smoke run must be an acceptance: a refusal means a broken setup.
      expect(summary.acceptedShare, `${name} accepted share`).toBe(1);
    }
    expect(results.latencyAt80?.counts.completed).toBeGreaterThan(0);
    expect(results.latencyAt80?.notIngested).toBe(0);
    expect(results.manyAppsHeld?.peakRssUnderLoadMiB).toBeGreaterThan(0);
    // The held runs scrape /metrics as Prometheus would; a scrape that failed fails the bench.
    expect(results.manyAppsHeld?.scrapes?.count).toBeGreaterThan(0);
    expect(results.manyAppsHeld?.scrapes?.bytes).toBeGreaterThan(0);
    expect(results.latencyAt80?.scrapes?.count).toBeGreaterThan(0);
    expect(results.budget.map((line) => line.line)).toHaveLength(6);
    for (const line of results.budget) expect(typeof line.measured).toBe('string');
    expect(output).toContain('| server |');
  });
});

interface Scrapes {
  count: number;
  bytes: number;
}

interface SmokeResults {
  schema: number;
  mode: string;
  machine: { cores: number };
  variants: Record<string, { runs: { notIngested: number }[]; summary: Record<string, number> }>;
  latencyAt80?: { counts: { completed: number }; notIngested: number; scrapes?: Scrapes };
  manyAppsHeld?: { peakRssUnderLoadMiB: number; scrapes?: Scrapes };
  budget: { line: string; measured: string; met?: boolean }[];
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
