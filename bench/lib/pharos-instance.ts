import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './network.js';
import { spawnPinned, stopProcess, waitForHttp, waitForOutput, type Spawned } from './processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist/cli/main.js');
const FIXTURES = join(ROOT, 'test/fixtures/faro-sdk-2.12');
/** `meta.app.bundleId` of the captured payloads: the uploaded map is found by it. */
export const FIXTURE_BUNDLE_ID = '1795573532342c4542cc2fb';
/** The page origin of the captured payloads. */
export const BENCH_ORIGIN = 'http://127.0.0.1:5600';
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export interface BenchApp {
  readonly tenant: string;
  readonly app: string;
  readonly key: string;
}

/**
 * `tenants × appsPerTenant` apps, one key each; the only one of `1 × 1` is `bench/bench-app`.
 * Tenants are interleaved (t0-a0, t1-a0, …, t0-a1, …): the load goes round-robin over this list,
 * so every tenant gets a steady share, as in production. In tenant order, each tenant would get
 * its whole share in one burst per pass and then nothing, which fills batches and hides what
 * many quiet tenants cost.
 */
export function benchApps(tenants: number, appsPerTenant: number): BenchApp[] {
  if (tenants === 1 && appsPerTenant === 1)
    return [{ tenant: 'bench', app: 'bench-app', key: 'bench-key-0123456789abcdef' }];
  const apps: BenchApp[] = [];
  for (let a = 0; a < appsPerTenant; a++) {
    for (let t = 0; t < tenants; t++) {
      apps.push({
        tenant: `bench-t${t}`,
        app: `bench-t${t}-a${a}`,
        key: `bench-key-t${t}-a${a}-0123456789`,
      });
    }
  }
  return apps;
}

/**
 * The configuration of the full pipeline under test: validation, limits (raised so that they are
 * evaluated but never refuse), the default privacy rules, source maps, fingerprints, and Loki +
 * OTLP + web-vitals metrics encoding and batching, delivered to discard receivers. The embedded
 * store is off: it is not part of the budget's pipeline (it has its own bench line in the README).
 * Written as JSON, which is YAML.
 */
export function pharosConfig(apps: readonly BenchApp[], receiversUrl: string): object {
  const tenants = new Map<string, BenchApp[]>();
  for (const app of apps) tenants.set(app.tenant, [...(tenants.get(app.tenant) ?? []), app]);
  const unlimited = { requests: { perSecond: 1e9, burst: 1e9 } };
  return {
    log: { level: 'warn' },
    demo: { enabled: false },
    admin: { token: ADMIN_TOKEN },
    store: { enabled: false },
    sinks: {
      loki: { url: receiversUrl },
      traces: { url: receiversUrl },
      metrics: { enabled: true },
    },
    // The request limiter runs at every level (global, tenant, app) but never refuses: the
    // default tenant limit (1,000 requests/s) would turn the measurement into one of 429s.
    limits: { tenant: unlimited, app: unlimited, global: unlimited },
    // Likewise the load shedder measures the event-loop delay but does not answer 503: a
    // saturated closed-loop run lags by design, and cheap 503s would inflate requests/s.
    shedding: { maxEventLoopDelay: '60s' },
    tenants: [...tenants].map(([id, tenantApps]) => ({
      id,
      apps: tenantApps.map((app) => ({
        id: app.app,
        allowedOrigins: [BENCH_ORIGIN],
        keys: [app.key],
      })),
    })),
  };
}

export interface PharosInstance {
  readonly publicUrl: string;
  readonly internalUrl: string;
  readonly spawned: Spawned;
  /** How it was started (always `pharos start` now; kept in the results for comparisons). */
  readonly launcher: 'cli';
  /** Requests answered 202 without ingesting: duplicate idempotency keys and sampled-out sessions. */
  notIngested(): Promise<number>;
  stop(): Promise<void>;
}

export interface PharosLaunch {
  readonly dir: string;
  readonly apps: readonly BenchApp[];
  readonly receiversUrl: string;
  readonly workers: number;
  readonly cpus: string | undefined;
  /** Extra `node` flags (`--cpu-prof`). */
  readonly nodeFlags?: readonly string[];
  /** Apps that get the fixture source map uploaded (default: the first). */
  readonly appsWithMap?: number;
  /** Checkout whose build runs (default: this one); `--candidate` compares another. */
  readonly root?: string;
}

/** Starts Pharos from the build, waits until it is ready and uploads the source map. */
export async function startPharos(launch: PharosLaunch): Promise<PharosInstance> {
  mkdirSync(launch.dir, { recursive: true });
  const configFile = join(launch.dir, 'pharos.yaml');
  writeFileSync(configFile, JSON.stringify(pharosConfig(launch.apps, launch.receiversUrl)));
  const [publicPort, internalPort] = [await freePort(), await freePort()];
  const args = [
    '--config',
    configFile,
    '--data-dir',
    join(launch.dir, 'data'),
    '--public',
    `127.0.0.1:${publicPort}`,
    '--internal',
    `127.0.0.1:${internalPort}`,
    '--log-level',
    'warn',
  ];
  const cli = launch.root === undefined ? CLI : join(launch.root, 'dist/cli/main.js');
  const nodeArgs = [...(launch.nodeFlags ?? []), cli, 'start', ...args];
  if (launch.workers > 1) nodeArgs.push('--workers', String(launch.workers));
  // PHAROS_* from the caller's shell must not change what is measured.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('PHAROS_')),
  );
  const spawned = spawnPinned(launch.cpus, process.execPath, nodeArgs, env);
  const publicUrl = `http://127.0.0.1:${publicPort}`;
  const internalUrl = `http://127.0.0.1:${internalPort}`;
  const stop = () => stopProcess(spawned, 20_000);
  try {
    await waitForHttp(`${publicUrl}/-/ready`, spawned, 120_000);
    // Worker 1 answers /-/ready before the others have started: wait for the primary's word.
    if (launch.workers > 1)
      await waitForOutput(spawned, `${launch.workers} workers ready`, 120_000);
    await uploadSourceMaps(internalUrl, launch.apps.slice(0, launch.appsWithMap ?? 1));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    publicUrl,
    internalUrl,
    spawned,
    launcher: 'cli',
    notIngested: () => notIngested(internalUrl),
    stop,
  };
}

/** From `/metrics` (summed over workers): what Pharos answered 202 without doing the work. */
async function notIngested(internalUrl: string): Promise<number> {
  const text = await (await fetch(`${internalUrl}/metrics`)).text();
  let count = 0;
  for (const line of text.split('\n')) {
    if (
      /^pharos_idempotency_requests_total\{[^}]*outcome="duplicate"/.test(line) ||
      line.startsWith('pharos_ingest_sampled_out_total{')
    )
      count += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return count;
}

/** Uploads `app.min.js.map` for the apps, as faro-cli does. */
async function uploadSourceMaps(internalUrl: string, apps: readonly BenchApp[]): Promise<void> {
  const map = readFileSync(join(FIXTURES, 'app.min.js.map'));
  for (const app of apps) {
    const response = await fetch(`${internalUrl}/app/${app.app}/sourcemaps/${FIXTURE_BUNDLE_ID}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: map,
    });
    if (!response.ok)
      throw new Error(
        `source map upload for ${app.app}: ${response.status} ${await response.text()}`,
      );
  }
}
