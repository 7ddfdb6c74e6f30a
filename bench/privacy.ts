/**
 * Micro-benchmark of the privacy and fingerprint enrichers on the captured Faro payloads:
 * CPU microseconds per payload, per fixture and over the realistic mix (every captured /collect body
 * once). Copies are made outside the timed loop (the enrichers rewrite payloads in place).
 *
 *   npx tsx bench/privacy.ts [--rounds 5] [--copies 400]
 *
 * Prints a table, then the results as one JSON line (CI never asserts a timing).
 */
import { loadavg } from 'node:os';
import { Value } from '@sinclair/typebox/value';
import { createFingerprintEnricher } from '../src/enrich/fingerprint/index.js';
import {
  PrivacySettingsSchema,
  createPrivacyEnricher,
  type PrivacySettings,
} from '../src/enrich/privacy/index.js';
import type { Enricher } from '../src/enrich/types.js';
import { validatePayload } from '../src/decode/index.js';
import type { AcceptedBatch, FaroPayload } from '../src/model/index.js';
import { collectRequests, fixtureBody } from '../test/helpers/fixtures.js';
import { leakyCopy } from '../test/privacy/secrets.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const ROUNDS = option('rounds', 5);
const COPIES = option('copies', 400);

const defaults = Value.Default(PrivacySettingsSchema, {}) as PrivacySettings;
const withCustomRules: PrivacySettings = {
  ...defaults,
  rules: { ...defaults.rules, ipAddress: true },
  dropFields: ['meta.browser.userAgent', 'context.cartId'],
  customRules: [
    {
      name: 'employee',
      pattern: 'EMP-\\d{6}',
      flags: '',
      replacement: '[employee]',
      fields: ['message', 'context'],
    },
    {
      name: 'phone',
      pattern: '\\+\\d{2}[ \\d]{8,14}',
      flags: '',
      replacement: '[phone]',
      fields: ['message', 'context', 'attribute'],
    },
  ],
};

const fixtures = collectRequests.map((request) => ({
  name: request.file.slice(0, 2),
  payload: fixtureBody(request).json as FaroPayload,
}));

function batchOf(payload: FaroPayload): AcceptedBatch {
  return { tenantId: 'bench', appId: 'bench-app', receivedAt: 0, payload, itemCount: 1, bytes: 1 };
}

/**
 * Median over rounds of the CPU microseconds (user + system of this process, so time spent
 * descheduled on a busy machine does not count) per payload. Copies are made in small blocks
 * outside the timed part, so the heap stays small and only young-generation GC runs.
 */
function measure(enricher: Enricher, payload: FaroPayload): number {
  const perRound: number[] = [];
  const block = Math.min(100, COPIES);
  for (let round = 0; round < ROUNDS; round++) {
    let cpu = 0;
    for (let done = 0; done < COPIES; done += block) {
      const copies = Array.from({ length: block }, () => batchOf(structuredClone(payload)));
      const started = process.cpuUsage();
      for (const batch of copies) void enricher.enrich(batch);
      const used = process.cpuUsage(started);
      cpu += used.user + used.system;
    }
    perRound.push(cpu / COPIES);
  }
  perRound.sort((a, b) => a - b);
  return perRound[Math.floor(perRound.length / 2)] as number;
}

/** Work every request already pays, for scale: Ajv validation, and the store's JSON.stringify. */
const baselines: Enricher[] = [
  {
    name: 'baseline: validatePayload (Ajv)',
    enrich: (batch) => void validatePayload(batch.payload, 100_000),
  },
  { name: 'baseline: JSON.stringify', enrich: (batch) => void JSON.stringify(batch.payload) },
];

const scenarios: { name: string; enricher: Enricher; leaky?: boolean; exceptionsOnly?: boolean }[] =
  [
    ...baselines.map((enricher) => ({ name: enricher.name, enricher })),
    { name: 'privacy (defaults)', enricher: createPrivacyEnricher({ global: defaults }) },
    {
      name: 'privacy (+ip, drops, 2 custom)',
      enricher: createPrivacyEnricher({ global: withCustomRules }),
    },
    {
      name: 'privacy (defaults), every field leaky',
      enricher: createPrivacyEnricher({ global: defaults }),
      leaky: true,
    },
    {
      name: 'fingerprint (exception fixtures)',
      enricher: createFingerprintEnricher(),
      exceptionsOnly: true,
    },
  ];

// Warm up the JIT on every path before measuring.
for (const scenario of scenarios) {
  for (const { payload } of fixtures) {
    for (let i = 0; i < 200; i++)
      void scenario.enricher.enrich(
        batchOf(structuredClone(scenario.leaky ? leakyCopy(payload) : payload)),
      );
  }
}

const results: Record<
  string,
  { meanUs: number; maxUs: number; maxFixture: string; perFixtureUs: Record<string, number> }
> = {};
for (const scenario of scenarios) {
  const perFixture: Record<string, number> = {};
  for (const { name, payload } of fixtures) {
    if (scenario.exceptionsOnly && !payload.exceptions?.length) continue;
    perFixture[name] = measure(scenario.enricher, scenario.leaky ? leakyCopy(payload) : payload);
  }
  const values = Object.values(perFixture);
  const [maxFixture, maxUs] = Object.entries(perFixture).sort((a, b) => b[1] - a[1])[0] as [
    string,
    number,
  ];
  results[scenario.name] = {
    meanUs: values.reduce((sum, value) => sum + value, 0) / values.length,
    maxUs,
    maxFixture,
    perFixtureUs: perFixture,
  };
}

const round = (value: number) => Math.round(value * 100) / 100;
console.log(
  `CPU µs per payload (median of ${ROUNDS} rounds × ${COPIES} copies; Node ${process.version}; load average ${(loadavg()[0] ?? 0).toFixed(1)})`,
);
console.log(`${'scenario'.padEnd(42)} ${'mean'.padStart(8)} ${'max'.padStart(8)}  fixture`);
for (const [name, result] of Object.entries(results)) {
  console.log(
    `${name.padEnd(42)} ${round(result.meanUs).toFixed(2).padStart(8)} ${round(result.maxUs).toFixed(2).padStart(8)}  ${result.maxFixture}`,
  );
}
console.log(
  JSON.stringify({
    bench: 'privacy',
    node: process.version,
    loadAverage: loadavg()[0],
    rounds: ROUNDS,
    copies: COPIES,
    results: Object.fromEntries(
      Object.entries(results).map(([name, result]) => [
        name,
        {
          meanUs: round(result.meanUs),
          maxUs: round(result.maxUs),
          maxFixture: result.maxFixture,
          perFixtureUs: Object.fromEntries(
            Object.entries(result.perFixtureUs).map(([key, value]) => [key, round(value)]),
          ),
        },
      ]),
    ),
  }),
);
