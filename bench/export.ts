/**
 * Export throughput: items delivered per second of CPU by the Loki and traces sinks, from accepted
 * batches to backend confirmations. Each case builds the tenant's real sinks (the ones Pharos
 * builds: line formatting, label rules, batching, protobuf + snappy or OTLP protobuf encoding,
 * HTTP keep-alive pushes, delivery bookkeeping), offers them batches made from the real Faro SDK
 * captures for `--seconds`, then waits until the backend has confirmed every item. The receivers
 * are bench/servers/discard-receivers.mjs in another process (pinned to CPU 1 when taskset
 * exists; run this one with `taskset -c 0` to pin the sinks too).
 *
 *   npx tsx bench/export.ts [--seconds 5] [--rounds 3]
 *
 * "Per core" is delivered items ÷ CPU seconds this process used (user + system, getrusage), so
 * the figure does not depend on what else the machine runs. Prints a table and writes
 * bench/results/export-<date>.json; nothing asserts the timings.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { validateConfig } from '../src/config/index.js';
import { createMetrics, type Metrics } from '../src/metrics/index.js';
import { countItemsByKind, type AcceptedBatch, type FaroPayload } from '../src/model/index.js';
import type { Tenant } from '../src/registry/index.js';
import { SinkRouter, createFanout } from '../src/sinks/index.js';
import { VERSION } from '../src/version.js';
import { collectRequests, fixtureBody } from '../test/helpers/fixtures.js';
import { hasTaskset } from './lib/processes.js';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);
const TENANT = 'bench';

type Case = 'loki' | 'traces' | 'loki+traces';
const CASES: Case[] = ['loki', 'traces', 'loki+traces'];

/** The fixtures' payloads: page loads, logs, errors, vitals, events and traced fetches. */
const PAYLOADS: FaroPayload[] = collectRequests.map(
  (request) => fixtureBody(request).json as unknown as FaroPayload,
);

interface Receivers {
  url: string;
  stop(): void;
}

async function startReceivers(): Promise<Receivers> {
  const script = new URL('./servers/discard-receivers.mjs', import.meta.url).pathname;
  const child = hasTaskset
    ? spawn('taskset', ['-c', '1', process.execPath, script, '0'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, [script, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`receivers exited with ${code}`)));
    lines.on('line', (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

function tenant(): Tenant {
  return {
    id: TENANT,
    name: TENANT,
    orgId: null,
    sinks: {},
    limits: {},
    source: 'config',
    createdAt: 0,
    updatedAt: 0,
  };
}

/** Items each case's sinks deliver from one payload: spans to traces, the rest to Loki. */
function itemsFor(which: Case, payload: FaroPayload): number {
  const counts = countItemsByKind(payload);
  const loki = counts.log + counts.exception + counts.measurement + counts.event;
  if (which === 'loki') return loki;
  if (which === 'traces') return counts.span;
  return loki + counts.span;
}

function deliveredTotal(metrics: Metrics): Promise<number> {
  return metrics.sinkItemsDelivered
    .get()
    .then((metric) => metric.values.reduce((sum, value) => sum + value.value, 0));
}

interface CaseResult {
  case: Case;
  items: number;
  batches: number;
  /** Times the feeder found a queue full and waited 2 ms (ingest would have answered 503). */
  queueFull: number;
  cpuSeconds: number;
  wallSeconds: number;
  itemsPerCpuSecond: number;
  itemsPerWallSecond: number;
}

async function runCase(which: Case, receiversUrl: string): Promise<CaseResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pharos-export-bench-'));
  const config = validateConfig({
    dataDir,
    log: { level: 'silent' },
    store: { enabled: false },
    sinks: {
      loki: { url: which === 'traces' ? '' : receiversUrl },
      traces: { url: which === 'loki' ? '' : receiversUrl },
      metrics: { enabled: false },
    },
  });
  const metrics = createMetrics(VERSION);
  const router = new SinkRouter({
    config,
    metrics,
    logger: pino({ level: 'silent' }),
    shared: [],
  });
  await router.sync([tenant()]);
  const fanout = createFanout(router);

  let offeredItems = 0;
  let batches = 0;
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const feedUntil = wallStart + SECONDS * 1000;
  let full = 0;
  while (performance.now() < feedUntil) {
    // One macrotask's worth of batches, then let the senders run.
    let wasFull = false;
    for (let index = 0; index < 50; index++) {
      const payload = PAYLOADS[batches % PAYLOADS.length]!;
      const batch: AcceptedBatch = {
        tenantId: TENANT,
        appId: 'bench-app',
        receivedAt: Date.now(),
        payload,
        itemCount: itemsFor('loki+traces', payload),
        bytes: 4096,
      };
      try {
        const durable = fanout.accept(batch);
        if (durable) await durable;
      } catch {
        // A queue is full: give the senders time, as a 503 would (no busy loop).
        wasFull = true;
        full++;
        break;
      }
      offeredItems += itemsFor(which, payload);
      batches++;
    }
    await new Promise((resolve) => (wasFull ? setTimeout(resolve, 2) : setImmediate(resolve)));
  }
  await fanout.flush();
  while ((await deliveredTotal(metrics)) < offeredItems) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await fanout.close();
  rmSync(dataDir, { recursive: true, force: true });
  return {
    case: which,
    items: offeredItems,
    batches,
    cpuSeconds: round(cpuSeconds, 2),
    wallSeconds: round(wallSeconds, 2),
    queueFull: full,
    itemsPerCpuSecond: Math.round(offeredItems / cpuSeconds),
    itemsPerWallSecond: Math.round(offeredItems / wallSeconds),
  };
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

const receivers = await startReceivers();
try {
  const runs = new Map<Case, CaseResult[]>(CASES.map((which) => [which, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const which of CASES) runs.get(which)!.push(await runCase(which, receivers.url));
  }
  const rows = CASES.map((which) => {
    const results = runs.get(which)!;
    return {
      case: which,
      itemsPerCpuSecond: median(results.map((result) => result.itemsPerCpuSecond)),
      itemsPerWallSecond: median(results.map((result) => result.itemsPerWallSecond)),
      runs: results,
    };
  });
  console.log(`\nExport throughput, median of ${ROUNDS} rounds of ${SECONDS} s\n`);
  console.log('| sinks | items/s per core (CPU) | items/s (wall) |');
  console.log('| --- | ---: | ---: |');
  for (const row of rows) {
    console.log(
      `| ${row.case} | ${row.itemsPerCpuSecond.toLocaleString('en')} | ${row.itemsPerWallSecond.toLocaleString('en')} |`,
    );
  }
  const date = new Date().toISOString();
  const out = new URL(`./results/export-${date.slice(0, 10)}.json`, import.meta.url).pathname;
  mkdirSync(new URL('./results/', import.meta.url).pathname, { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date,
        node: process.version,
        cpu: cpus()[0]?.model,
        cores: cpus().length,
        loadavg: loadavg().map((value) => round(value, 2)),
        seconds: SECONDS,
        rounds: ROUNDS,
        rows,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${out}`);
} finally {
  receivers.stop();
}
