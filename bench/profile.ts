/**
 * `npm run bench:profile`: where the CPU goes in Pharos under the bench's load. Runs Pharos (full
 * pipeline, pinned to CPU 0) with `node --cpu-prof`, loads it with wrk (CPU 1) for warm-up +
 * measured seconds, stops it, and attributes every profile sample of the measured window to a
 * pipeline stage, a library and a function. Prints the tables (µs per request and share) and
 * keeps the `.cpuprofile` (open it in Chrome DevTools or https://www.speedscope.app) and a
 * collapsed-stack file for flamegraph.pl in bench/results/tmp/.
 *
 *   npm run bench:profile -- [--variant pharos|apps] [--duration 10] [--warmup 3] [--gzip 0.1]
 *                            [--connections 32] [--generator wrk|loadgen] [--no-build]
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { analyseProfile, type ProfileBreakdown } from './lib/cpu-profile.js';
import { measureRun, type GeneratorKind } from './lib/measure.js';
import { freePort } from './lib/network.js';
import { hasTaskset, loadAverage, spawnPinned, stopProcess, waitForHttp } from './lib/processes.js';
import { writeRequestPool } from './lib/request-pool.js';
import { defineVariants, type VariantName } from './lib/variants.js';
import { hasWrk } from './lib/wrk.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT_DIR = join(ROOT, 'bench/results/tmp');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      variant: { type: 'string', default: 'pharos' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      gzip: { type: 'string', default: '0.1' },
      connections: { type: 'string', default: '32' },
      generator: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
    },
  });
  const variantName = values.variant as VariantName;
  const generator = (values.generator ?? (hasWrk ? 'wrk' : 'loadgen')) as GeneratorKind;
  if (generator !== 'wrk' && generator !== 'loadgen')
    throw new Error('--generator is wrk or loadgen');
  if (variantName !== 'pharos' && variantName !== 'apps')
    throw new Error('--variant is pharos or apps');
  if (!values['no-build'])
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const cores = cpus().length;
  const pinned = hasTaskset && cores >= 2;
  const serverCpu = pinned ? '0' : undefined;
  const loadgenCpu = pinned ? String(cores - 1) : undefined;
  if (loadgenCpu !== undefined)
    execFileSync('taskset', ['-a', '-p', '-c', loadgenCpu, String(process.pid)], {
      stdio: 'ignore',
    });

  const workDir = mkdtempSync(join(tmpdir(), 'pharos-profile-'));
  const receiversPort = await freePort();
  const receivers = spawnPinned(loadgenCpu, process.execPath, [
    join(ROOT, 'bench/servers/discard-receivers.mjs'),
    String(receiversPort),
  ]);
  try {
    const receiversUrl = `http://127.0.0.1:${receiversPort}`;
    await waitForHttp(`${receiversUrl}/stats`, receivers);
    const poolFile = join(workDir, 'pool.bin');
    const gzipShare = Number(values.gzip);
    writeRequestPool(poolFile, { requests: 3400, sessions: 200, gzipShare, seed: 42 });
    const variant = defineVariants({
      receiversUrl,
      serverCpu,
      loadgenCpu,
      cores,
      workers: 2,
      manyApps: { tenants: 100, appsPerTenant: 100 },
    })[variantName];
    const profileDir = join(workDir, 'profile');
    const warmupSeconds = Number(values.warmup);
    const server = await variant.start(join(workDir, 'server'), [
      '--cpu-prof',
      '--cpu-prof-dir',
      profileDir,
    ]);
    let result;
    try {
      result = await measureRun(variant, server, 1, {
        generator,
        connections: Number(values.connections),
        warmupSeconds,
        durationSeconds: Number(values.duration),
        gzipShare,
        sessions: 200,
        loadgenCpu,
        poolFile,
        workDir,
      });
    } finally {
      // The profile is written when the process exits.
      await server.stop();
    }
    const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error('no .cpuprofile was written');
    // Skip start-up, the warm-up run, and a second of margin.
    const breakdown = analyseProfile(join(profileDir, file), (warmupSeconds + 1) * 1000);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    mkdirSync(OUT_DIR, { recursive: true });
    const kept = join(OUT_DIR, `pharos-${variantName}-${stamp}.cpuprofile`);
    copyFileSync(join(profileDir, file), kept);
    writeFileSync(kept.replace(/\.cpuprofile$/, '.folded'), `${breakdown.folded}\n`);
    // The window's length is its busy plus idle time (one JS thread); it ran at the measured rate.
    const requests = (result.rps * (breakdown.busyMs + breakdown.idleMs)) / 1000;
    const summary = {
      date: new Date().toISOString(),
      variant: variantName,
      loadAverage: loadAverage(),
      rps: result.rps,
      serverCpuCores: result.serverCpuCores,
      interferenceCores: result.interferenceCores,
      profile: kept,
      ...withoutFolded(breakdown),
    };
    writeFileSync(kept.replace(/\.cpuprofile$/, '.json'), `${JSON.stringify(summary, null, 2)}\n`);
    printBreakdown(breakdown, requests, result.rps);
    console.log(`\nprofile: ${kept} (speedscope, Chrome DevTools); folded stacks next to it`);
  } finally {
    await stopProcess(receivers);
    rmSync(workDir, { recursive: true, force: true });
  }
}

function withoutFolded(breakdown: ProfileBreakdown): Omit<ProfileBreakdown, 'folded'> {
  const { folded, ...rest } = breakdown;
  void folded;
  return rest;
}

/** µs per request assumes the profiled window ran at the measured rate. */
function printBreakdown(breakdown: ProfileBreakdown, requests: number, rps: number): void {
  const perRequest = (ms: number) => ((ms * 1000) / requests).toFixed(1);
  console.log(
    `\n${Math.round(rps).toLocaleString('en-US')} req/s under the profiler; ${breakdown.busyMs} ms busy and ${breakdown.idleMs} ms idle sampled; ` +
      `${perRequest(breakdown.busyMs)} µs of CPU per request\n`,
  );
  console.log('| stage | µs/request | share |\n| --- | ---: | ---: |');
  for (const { stage, ms, share } of breakdown.stages)
    console.log(`| ${stage} | ${perRequest(ms)} | ${(share * 100).toFixed(1)}% |`);
  console.log('\n| library (innermost) | µs/request | share |\n| --- | ---: | ---: |');
  for (const { library, ms, share } of breakdown.libraries.slice(0, 15))
    console.log(`| ${library} | ${perRequest(ms)} | ${(share * 100).toFixed(1)}% |`);
  console.log('\n| function (self time) | µs/request | share |\n| --- | ---: | ---: |');
  for (const { fn, ms, share } of breakdown.functions.slice(0, 25))
    console.log(`| \`${fn}\` | ${perRequest(ms)} | ${(share * 100).toFixed(1)}% |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
