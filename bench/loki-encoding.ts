/**
 * Loki push encodings compared: protobuf + snappy against JSON + gzip, on entries made from the real
 * Faro SDK captures (test/fixtures/faro-sdk-2.12). Measures the CPU time of encoding one push
 * (µs of CPU per 1,000 entries) and the bytes it puts on the wire, for pushes of several sizes;
 * also the CPU time of formatting the lines themselves (`select`), paid once per batch at accept.
 *
 *   npx tsx bench/loki-encoding.ts
 *
 * Prints a table and writes bench/results/loki-encoding-<date>.json. Timings vary by machine;
 * nothing asserts them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { compress as compressSnappy } from 'snappyjs';
import { countItems, type AcceptedBatch, type FaroPayload } from '../src/model/index.js';
import { compileLabelRules } from '../src/sinks/loki/labels.js';
import { encodePushJsonText } from '../src/sinks/loki/push-json.js';
import { encodePushRequest } from '../src/sinks/loki/push-protobuf.js';
import { groupStreams } from '../src/sinks/loki/push-streams.js';
import { createUnitBuilder, type LokiUnit } from '../src/sinks/loki/unit.js';
import { collectRequests, fixtureBody } from '../test/helpers/fixtures.js';

const PUSH_SIZES = [100, 1000, 5000];
/** Encodings are measured in interleaved rounds and the median kept, so load that comes and goes
 * on the machine weighs on all of them alike. */
const ROUNDS = 7;
const SAMPLE_MS = 250;

const payloads = collectRequests
  .map((request) => fixtureBody(request).json as FaroPayload)
  .filter((payload) => countItems(payload) - countSpans(payload) > 0);

function countSpans(payload: FaroPayload): number {
  let spans = 0;
  for (const resource of payload.traces?.resourceSpans ?? []) {
    for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
  }
  return spans;
}

let receivedAt = Date.now();
function batchOf(payload: FaroPayload): AcceptedBatch {
  receivedAt += 3;
  return {
    tenantId: 'bench',
    appId: 'bench-app',
    receivedAt,
    payload,
    itemCount: countItems(payload),
    bytes: 0,
  };
}

const select = createUnitBuilder({
  format: 'logfmt',
  labelRules: compileLabelRules({}),
  structuredMetadata: true,
  timestamp: 'receive',
});

/** Units (one per batch) until they hold `entries` entries, cycling through the captures. */
function unitsWithEntries(entries: number): LokiUnit[] {
  const units: LokiUnit[] = [];
  let count = 0;
  for (let i = 0; count < entries; i++) {
    const unit = select(batchOf(payloads[i % payloads.length] as FaroPayload));
    if (!unit) continue;
    units.push(unit.value);
    for (const stream of unit.value.streams) count += stream.count;
  }
  return units;
}

function countEntries(units: readonly LokiUnit[]): number {
  let count = 0;
  for (const unit of units) for (const stream of unit.streams) count += stream.count;
  return count;
}

/**
 * Mean CPU time of `run` (user + system, this process), in microseconds, over at least SAMPLE_MS
 * of wall time. CPU time rather than wall time: on a shared machine, wall time mostly measures
 * the wait for a core, and CPU time is what an encoding costs.
 */
function sample(run: () => unknown): number {
  let iterations = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  while (performance.now() - start < SAMPLE_MS) {
    run();
    iterations++;
  }
  const cpu = process.cpuUsage(cpuStart);
  return (cpu.user + cpu.system) / iterations;
}

/** Median of ROUNDS interleaved samples of each function, after a warm-up, in microseconds. */
function measureInterleaved(runs: readonly (() => unknown)[]): number[] {
  for (const run of runs) for (let i = 0; i < 10; i++) run();
  const samples = runs.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    runs.forEach((run, index) => samples[index]?.push(sample(run)));
  }
  return samples.map((values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  });
}

interface EncodingResult {
  encoding: string;
  pushEntries: number;
  usPerPush: number;
  usPer1000Entries: number;
  wireBytes: number;
  wireBytesPer1000Entries: number;
  rawBytes: number;
}

const encodings: {
  name: string;
  encode: (units: readonly LokiUnit[]) => { wire: Buffer; raw: number };
}[] = [
  {
    name: 'protobuf+snappy',
    encode: (units) => {
      const raw = encodePushRequest(groupStreams(units), true);
      return { wire: compressSnappy(raw), raw: raw.length };
    },
  },
  {
    name: 'json+gzip(6)',
    encode: (units) => {
      const raw = Buffer.from(encodePushJsonText(groupStreams(units), true), 'utf8');
      return { wire: gzipSync(raw, { level: 6 }), raw: raw.length };
    },
  },
  {
    name: 'json+gzip(1)',
    encode: (units) => {
      const raw = Buffer.from(encodePushJsonText(groupStreams(units), true), 'utf8');
      return { wire: gzipSync(raw, { level: 1 }), raw: raw.length };
    },
  },
];

const results: EncodingResult[] = [];
for (const size of PUSH_SIZES) {
  const units = unitsWithEntries(size);
  const entries = countEntries(units);
  const timings = measureInterleaved(encodings.map((encoding) => () => encoding.encode(units)));
  encodings.forEach(({ name, encode }, index) => {
    const { wire, raw } = encode(units);
    const usPerPush = timings[index] ?? 0;
    results.push({
      encoding: name,
      pushEntries: entries,
      usPerPush: round(usPerPush),
      usPer1000Entries: round((usPerPush * 1000) / entries),
      wireBytes: wire.length,
      wireBytesPer1000Entries: Math.round((wire.length * 1000) / entries),
      rawBytes: raw,
    });
  });
}

// Line formatting: the select() of a batch, per 1,000 items.
const formatBatches = payloads.map(batchOf);
const formatItems = formatBatches.reduce(
  (sum, batch) => sum + countItems(batch.payload) - countSpans(batch.payload),
  0,
);
const [usPerSelectRound = 0] = measureInterleaved([
  () => {
    for (const batch of formatBatches) select(batch);
  },
]);
const selectUsPer1000Items = round((usPerSelectRound * 1000) / formatItems);

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

console.log(
  `Loki push encoding, ${payloads.length} captured payloads cycled (${formatItems} items per round)`,
);
console.log('');
console.log(
  [
    'encoding'.padEnd(16),
    'entries'.padStart(8),
    'µs cpu/push'.padStart(10),
    'µs cpu/1k'.padStart(14),
    'wire bytes'.padStart(11),
    'bytes/1k'.padStart(9),
    'raw bytes'.padStart(10),
  ].join(' '),
);
for (const r of results) {
  console.log(
    [
      r.encoding.padEnd(16),
      String(r.pushEntries).padStart(8),
      r.usPerPush.toFixed(1).padStart(10),
      r.usPer1000Entries.toFixed(1).padStart(14),
      String(r.wireBytes).padStart(11),
      String(r.wireBytesPer1000Entries).padStart(9),
      String(r.rawBytes).padStart(10),
    ].join(' '),
  );
}
console.log('');
console.log(`line formatting (select, logfmt): ${selectUsPer1000Items} µs per 1,000 items`);
console.log(
  `load average while running: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

const at1000 = (name: string) => results.find((r) => r.encoding === name && r.pushEntries >= 1000);
const protobuf = at1000('protobuf+snappy');
const json = at1000('json+gzip(6)');
const faster =
  protobuf && json && protobuf.usPer1000Entries <= json.usPer1000Entries ? 'protobuf' : 'json';
console.log(`faster encoding at ~1,000 entries per push: ${faster}`);

const date = new Date().toISOString().slice(0, 10);
const resultsDir = new URL('results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
const file = new URL(`loki-encoding-${date}.json`, resultsDir);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      loadAverage: loadavg(),
      payloads: payloads.length,
      results,
      selectUsPer1000Items,
      faster,
    },
    null,
    2,
  )}\n`,
);
console.log(`written ${file.pathname}`);
