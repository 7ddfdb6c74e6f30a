/**
 * `npm run bench`: the performance budget of DESIGN.md, measured in one run on the same load.
 *
 *   pharos   Pharos with the full pipeline, delivering to discard receivers
 *   bare     a bare Node http server (read, gunzip, JSON.parse, 202): the limit
 *   workers  Pharos with --workers 2
 *   apps     Pharos with 10,000 registered apps (100 tenants × 100), load over every key
 *
 * The server under test is pinned to CPU 0, the load generator (wrk, one thread) and the discard
 * receivers to CPU 1. Every measurement starts a fresh server, warms it up, then measures; the
 * variants are interleaved and their order rotates every round, and medians are reported, because
 * this kind of machine is noisy. Before a measurement the bench waits (up to --quiet-wait s) for
 * the server's CPU to be idle; a run during which other processes took more than a tenth of that
 * CPU is repeated (--retries) and the least disturbed one kept; every run records how much CPU
 * others took (`interferenceCores`) and the load average is recorded before and after. Then
 * Pharos is held at 80% of its median maximum with the open-loop load generator for the latency
 * line, for at least --duration and until it has sent --steady-requests (240,000: enough to fill
 * the idempotency store, so that its peak RSS is the steady state's; at most --steady-max s,
 * 240). The 10,000-app server is then held under load for --apps-hold s (60), since its memory
 * keeps growing long after a round's 10 s. Both held runs scrape `/metrics` every --scrape-every
 * s (15), as Prometheus would in production: rendering every series takes memory and event-loop
 * time that grow with the apps. Prints a Markdown table and the budget, and writes
 * bench/results/<date>.json.
 *
 *   npm run bench -- [--smoke] [--rounds 3] [--duration 10] [--warmup 3] [--connections 32]
 *                    [--gzip 0.1] [--variants pharos,bare,workers,apps] [--workers 2]
 *                    [--apps 100x100] [--generator wrk|loadgen] [--no-latency] [--no-build]
 *                    [--retries 2] [--quiet-wait 60] [--candidate <checkout>] [--out file] [--keep]
 *                    [--steady-requests 240000] [--steady-max 240] [--apps-hold 60]
 *                    [--scrape-every 15]
 *
 * `--candidate <dir>` adds the full pipeline of another checkout (built), interleaved with this
 * one: how an optimisation is measured (docs/performance.md).
 *
 * `--smoke` (CI) runs every variant for a second with 100 apps: it proves the bench works and
 * asserts nothing about timings.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { evaluateBudget } from './lib/budget.js';
import { measureAtFixedRate, type FixedRateResult } from './lib/latency-run.js';
import { measureRun, type GeneratorKind, type RunResult } from './lib/measure.js';
import { freePort } from './lib/network.js';
import { CLI } from './lib/pharos-instance.js';
import {
  hasTaskset,
  loadAverage,
  waitForQuietCpus,
  spawnPinned,
  stopProcess,
  waitForHttp,
  type Spawned,
} from './lib/processes.js';
import { writeRequestPool } from './lib/request-pool.js';
import {
  summarise,
  type BenchResults,
  type ManyAppsHold,
  type VariantSummary,
} from './lib/results.js';
import { median } from './lib/stats.js';
import { budgetTable, resultsTable } from './lib/table.js';
import { defineVariants, variantDir, type Variant, type VariantName } from './lib/variants.js';
import { hasWrk } from './lib/wrk.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RECEIVERS = join(ROOT, 'bench/servers/discard-receivers.mjs');
const ALL_VARIANTS: readonly VariantName[] = ['pharos', 'bare', 'workers', 'apps'];
const KNOWN_VARIANTS: readonly VariantName[] = [...ALL_VARIANTS, 'candidate'];
/** Requests in wrk's pool: 200 simulated sessions of 17 requests. */
const POOL_SESSIONS = 200;
/**
 * Requests the latency run sends at least (1.2 × `idempotency.maxKeys`, 200,000): the memory
 * store of Idempotency-Keys is full only after that many, and the RSS line is about a process
 * that has been serving for a while.
 */
const STEADY_REQUESTS = 240_000;
const STEPS_PER_SESSION = 17;
/** Other processes using more than this share of the server's core make a run "disturbed". */
const DISTURBED_CORES = 0.1;

interface BenchOptions {
  smoke: boolean;
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  gzipShare: number;
  variants: VariantName[];
  workers: number;
  manyApps: { tenants: number; appsPerTenant: number };
  generator: GeneratorKind;
  latency: boolean;
  build: boolean;
  out: string | undefined;
  keep: boolean;
  retries: number;
  candidate: string | undefined;
  quietWaitSeconds: number;
  steadyRequests: number;
  steadyMaxSeconds: number;
  /** How long the many-apps server is held under load for its steady-state memory (0: not). */
  appsHoldSeconds: number;
  /** The held runs (latency, many apps) scrape `/metrics` this often, as Prometheus would (0: not). */
  scrapeEverySeconds: number;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '32' },
      gzip: { type: 'string', default: '0.1' },
      variants: { type: 'string', default: ALL_VARIANTS.join(',') },
      workers: { type: 'string', default: '2' },
      apps: { type: 'string' },
      generator: { type: 'string' },
      'no-latency': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      retries: { type: 'string' },
      candidate: { type: 'string' },
      'quiet-wait': { type: 'string' },
      'steady-requests': { type: 'string' },
      'steady-max': { type: 'string' },
      'apps-hold': { type: 'string' },
      'scrape-every': { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const number = (value: string | undefined, fallback: number, name: string) => {
    const parsed = value === undefined ? fallback : Number(value);
    if (!(parsed >= 0) || !Number.isFinite(parsed)) throw new Error(`--${name} must be a number`);
    return parsed;
  };
  const variants = (values.variants ?? '').split(',').filter(Boolean) as VariantName[];
  for (const name of variants)
    if (!KNOWN_VARIANTS.includes(name)) throw new Error(`unknown variant ${name}`);
  const candidate = values.candidate;
  if (candidate !== undefined && !variants.includes('candidate')) variants.push('candidate');
  if (variants.includes('candidate') && candidate === undefined)
    throw new Error('the candidate variant needs --candidate <checkout dir>');
  const [tenants, appsPerTenant] = (values.apps ?? (smoke ? '10x10' : '100x100'))
    .split('x')
    .map(Number);
  const generator = (values.generator ?? (hasWrk ? 'wrk' : 'loadgen')) as GeneratorKind;
  if (generator !== 'wrk' && generator !== 'loadgen')
    throw new Error('--generator is wrk or loadgen');
  if (generator === 'wrk' && !hasWrk) throw new Error('wrk is not installed (apt-get install wrk)');
  return {
    smoke,
    rounds: Math.max(1, Math.round(number(values.rounds, smoke ? 1 : 3, 'rounds'))),
    // wrk takes whole seconds.
    durationSeconds: Math.max(1, Math.round(number(values.duration, smoke ? 1 : 10, 'duration'))),
    warmupSeconds: Math.round(number(values.warmup, smoke ? 0 : 3, 'warmup')),
    connections: Math.max(1, Math.round(number(values.connections, 32, 'connections'))),
    gzipShare: Math.min(1, number(values.gzip, 0.1, 'gzip')),
    variants,
    workers: Math.max(2, Math.round(number(values.workers, 2, 'workers'))),
    manyApps: { tenants: tenants || 100, appsPerTenant: appsPerTenant || 100 },
    generator,
    latency: !(values['no-latency'] ?? false),
    build: !(values['no-build'] ?? false),
    out: values.out,
    keep: values.keep ?? false,
    retries: Math.round(number(values.retries, smoke ? 0 : 2, 'retries')),
    candidate,
    quietWaitSeconds: number(values['quiet-wait'], smoke ? 0 : 60, 'quiet-wait'),
    steadyRequests: Math.round(
      number(values['steady-requests'], smoke ? 0 : STEADY_REQUESTS, 'steady-requests'),
    ),
    steadyMaxSeconds: number(values['steady-max'], 240, 'steady-max'),
    appsHoldSeconds: Math.round(number(values['apps-hold'], smoke ? 1 : 60, 'apps-hold')),
    scrapeEverySeconds: number(values['scrape-every'], smoke ? 0.3 : 15, 'scrape-every'),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.build) {
    console.error('building (npm run build) ...');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);

  const cores = cpus().length;
  const pinned = hasTaskset && cores >= 2;
  const serverCpu = pinned ? '0' : undefined;
  const loadgenCpu = pinned ? String(cores - 1) : undefined;
  // This process runs the open-loop load generator and the samplers: it belongs with the load.
  if (loadgenCpu !== undefined)
    execFileSync('taskset', ['-a', '-p', '-c', loadgenCpu, String(process.pid)], {
      stdio: 'ignore',
    });

  const workDir = mkdtempSync(join(tmpdir(), 'pharos-bench-'));
  const notes: string[] = [];
  let receivers: Spawned | undefined;
  const loadBefore = loadAverage();
  try {
    const receiversPort = await freePort();
    receivers = spawnPinned(loadgenCpu, process.execPath, [RECEIVERS, String(receiversPort)]);
    const receiversUrl = `http://127.0.0.1:${receiversPort}`;
    await waitForHttp(`${receiversUrl}/stats`, receivers);

    const poolFile = join(workDir, 'pool.bin');
    writeRequestPool(poolFile, {
      requests: POOL_SESSIONS * STEPS_PER_SESSION,
      sessions: POOL_SESSIONS,
      gzipShare: options.gzipShare,
      seed: 42,
    });
    const variants = defineVariants({
      receiversUrl,
      serverCpu,
      loadgenCpu,
      cores,
      workers: options.workers,
      manyApps: options.manyApps,
      candidateRoot: options.candidate,
    });
    const load = {
      generator: options.generator,
      connections: options.connections,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      gzipShare: options.gzipShare,
      sessions: POOL_SESSIONS,
      loadgenCpu,
      poolFile,
      workDir,
    };

    const runs = new Map<VariantName, RunResult[]>();
    const order: VariantName[][] = [];
    for (let round = 0; round < options.rounds; round++) {
      // Rotating the order spreads slow phases of a noisy machine over every variant.
      const shift = round % options.variants.length;
      const roundOrder = [...options.variants.slice(shift), ...options.variants.slice(0, shift)];
      order.push(roundOrder);
      for (const name of roundOrder) {
        const variant = variants[name];
        console.error(`round ${round + 1}/${options.rounds}: ${variant.label} ...`);
        const result = await measureWithRetries(variant, round, options.retries, async () => {
          if (serverCpu !== undefined && options.quietWaitSeconds > 0) {
            const busy = await waitForQuietCpus(
              variant.cpus ?? serverCpu,
              options.quietWaitSeconds * 1000,
            );
            if (busy > 0.15)
              console.error(
                `  CPU ${variant.cpus ?? serverCpu} still ${Math.round(busy * 100)}% busy: measuring anyway`,
              );
          }
          const server = await variant.start(variantDir(workDir, name, round));
          try {
            return await measureRun(variant, server, round + 1, load);
          } finally {
            await server.stop();
          }
        });
        runs.set(name, [...(runs.get(name) ?? []), result]);
        if (result.notIngested > 0)
          notes.push(
            `${name} round ${round + 1}: ${result.notIngested} requests were answered without being ingested (duplicate idempotency keys or sampled out): the figures are not the pipeline's`,
          );
        if (result.acceptedShare < 0.99)
          notes.push(
            `${name} round ${round + 1}: only ${result.acceptedShare * 100}% of answers were 2xx (${JSON.stringify(result.statuses)})`,
          );
        if (!variant.sharesLoadgenCore && result.interferenceCores > DISTURBED_CORES)
          notes.push(
            `${name} round ${round + 1}: other processes used ${result.interferenceCores} of the server's cores`,
          );
      }
    }

    const summaries: Partial<Record<VariantName, VariantSummary>> = {};
    for (const [name, variantRuns] of runs)
      summaries[name] = summarise(variants[name], variantRuns);

    let latencyAt80: (FixedRateResult & { variant: VariantName }) | undefined;
    const pharosRps = median((runs.get('pharos') ?? []).map((run) => run.rps));
    if (options.latency && Number.isFinite(pharosRps)) {
      const variant = variants.pharos;
      const targetRps = 0.8 * pharosRps;
      // Long enough to fill the idempotency store (every request has a fresh key), so that
      // this run's RSS, which the RSS line includes, is the steady state's: the short rounds
      // above end long before (docs/performance.md, finding 23).
      const latencySeconds = Math.ceil(
        Math.min(
          options.steadyMaxSeconds,
          Math.max(options.durationSeconds, options.steadyRequests / targetRps),
        ),
      );
      console.error(
        `latency at 80% of ${Math.round(pharosRps)} req/s (open loop) for ${latencySeconds} s ...`,
      );
      if (latencySeconds * targetRps < options.steadyRequests)
        notes.push(
          `latency line: ${latencySeconds} s (--steady-max) sent fewer than ${options.steadyRequests} requests; its RSS may be below the steady state`,
        );
      const server = await variant.start(join(workDir, 'latency'));
      try {
        const result = await measureAtFixedRate(variant, server, targetRps, {
          warmupSeconds: options.warmupSeconds,
          durationSeconds: latencySeconds,
          gzipShare: options.gzipShare,
          sessions: POOL_SESSIONS,
          connections: 64,
          scrapeEverySeconds: options.scrapeEverySeconds,
        });
        latencyAt80 = { variant: 'pharos', ...result };
        if (result.notIngested > 0)
          notes.push(
            `latency line: ${result.notIngested} requests were answered without being ingested`,
          );
      } finally {
        await server.stop();
      }
    }

    // The many-apps rounds last 10 s; its memory keeps growing for tens of seconds after
    // (docs/performance.md, finding 28), so the budget's line takes a server held longer.
    let manyAppsHeld: ManyAppsHold | undefined;
    if (options.appsHoldSeconds > 0 && options.variants.includes('apps')) {
      console.error(`10,000 apps held under load for ${options.appsHoldSeconds} s ...`);
      const server = await variants.apps.start(join(workDir, 'apps-held'));
      try {
        const run = await measureRun(variants.apps, server, 0, {
          ...load,
          durationSeconds: options.appsHoldSeconds,
          scrapeEverySeconds: options.scrapeEverySeconds,
        });
        manyAppsHeld = {
          seconds: run.seconds,
          rps: run.rps,
          peakRssUnderLoadMiB: run.peakRssUnderLoadMiB,
          ...(run.scrapes ? { scrapes: run.scrapes } : {}),
        };
      } finally {
        await server.stop();
      }
    }

    for (const name of ['workers', 'apps', 'pharos'] as const) {
      const summary = summaries[name];
      if (summary?.sharesLoadgenCore)
        notes.push(
          `${name}: the server shared CPU ${loadgenCpu} with the load generator (${cores} cores)`,
        );
    }
    if (!pinned) notes.push('not pinned (taskset missing or one core): figures are not comparable');

    const results: BenchResults = {
      schema: 1,
      date: new Date().toISOString(),
      mode: options.smoke ? 'smoke' : 'full',
      machine: {
        node: process.version,
        cpu: cpus()[0]?.model ?? 'unknown',
        cores,
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadAverage(),
        pinning: { server: serverCpu ?? null, loadgen: loadgenCpu ?? null },
      },
      settings: {
        generator: options.generator,
        rounds: options.rounds,
        warmupSeconds: options.warmupSeconds,
        durationSeconds: options.durationSeconds,
        connections: options.connections,
        gzipShare: options.gzipShare,
        sessions: POOL_SESSIONS,
        poolRequests: POOL_SESSIONS * STEPS_PER_SESSION,
        workers: options.workers,
        manyApps: options.manyApps,
        order,
      },
      variants: summaries,
      ...(latencyAt80 ? { latencyAt80 } : {}),
      ...(manyAppsHeld ? { manyAppsHeld } : {}),
      budget: evaluateBudget(summaries, latencyAt80, options.workers, manyAppsHeld),
      notes,
    };
    const out = options.out ?? defaultOutFile(options.smoke);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

    console.log(`\n${resultsTable(results)}\n\n${budgetTable(results)}\n`);
    for (const note of notes) console.log(`note: ${note}`);
    console.log(
      `load average ${loadBefore.join(' ')} before, ${results.machine.loadAverageAfter.join(' ')} after; results in ${out}`,
    );
  } finally {
    if (receivers) await stopProcess(receivers);
    if (!options.keep) rmSync(workDir, { recursive: true, force: true });
    else console.error(`work directory kept: ${workDir}`);
  }
}

/**
 * Runs a measurement; while other processes took more than DISTURBED_CORES of the server's core,
 * runs it again (at most `retries` times) and keeps the least disturbed run.
 */
async function measureWithRetries(
  variant: Variant,
  round: number,
  retries: number,
  measure: () => Promise<RunResult>,
): Promise<RunResult> {
  let best: RunResult | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    const result = await measure();
    console.error(
      `  ${Math.round(result.rps).toLocaleString('en-US')} req/s, p99 ${result.latencyMs.p99} ms, ` +
        `server ${result.serverCpuCores} cores (others ${result.interferenceCores}), ` +
        `RSS ${result.peakRssUnderLoadMiB} MiB, load generator ${Math.round(result.loadgenCpuShare * 100)}% of a core`,
    );
    if (!best || result.interferenceCores < best.interferenceCores) best = result;
    if (variant.sharesLoadgenCore || result.interferenceCores <= DISTURBED_CORES) break;
    if (attempt < retries)
      console.error(
        `  disturbed by other processes: measuring ${variant.name} again (round ${round + 1})`,
      );
  }
  return best as RunResult;
}

function defaultOutFile(smoke: boolean): string {
  const dir = join(ROOT, 'bench/results');
  if (smoke) return join(dir, 'tmp/smoke.json');
  const date = new Date().toISOString().slice(0, 10);
  let file = join(dir, `${date}.json`);
  for (let index = 2; existsSync(file); index++) file = join(dir, `${date}-${index}.json`);
  return file;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
