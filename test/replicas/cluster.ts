import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { startCli, type RunningPharos } from '../helpers/process.js';
import { SHARED_REDIS_URL, uniquePrefix } from '../limits/redis-server.js';
import { deleteKeys } from '../limits/support.js';
import { TestDatabase } from './database.js';
import { startNginx, type RunningNginx } from './nginx.js';

type Json = Record<string, unknown>;

export interface Replica {
  /** 1-based, as in "replica 1". */
  index: number;
  process: RunningPharos;
  dataDir: string;
  /** host:port of the public listener, as nginx's upstream names it. */
  publicAddress: string;
}

export interface Cluster {
  replicas: Replica[];
  nginx: RunningNginx;
  /** The static admin token every replica accepts (`admin.token`). */
  adminToken: string;
  database: TestDatabase;
  redisPrefix: string;
  /** Each replica's start banner and log (JSON lines), for failure messages. */
  logs(): string;
}

/**
 * Replicas and nginx masters still running, with the signal that ends each at once, sent if this
 * worker exits without cleaning up. nginx gets SIGTERM: its master then stops its worker, which
 * a killed master would leave behind.
 */
const livePids = new Map<number, NodeJS.Signals>();
let exitHookInstalled = false;
function track(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const [each, eachSignal] of livePids) {
        try {
          process.kill(each, eachSignal);
        } catch {
          // gone already
        }
      }
    });
  }
  livePids.set(pid, signal);
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function stopReplica(replica: RunningPharos, graceMs = 10_000): Promise<void> {
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return;
  const exited = replica.stop('SIGTERM');
  const timer = setTimeout(() => replica.child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Scaled-out Pharos as the design describes it, on this machine: `replicas` real `pharos start`
 * processes sharing one PostgreSQL registry (a database of this test's own) and one Redis (a key
 * prefix of this test's own), each with its own data dir and YAML file, behind a real nginx.
 *
 * `start` records what `dispose` undoes, so a start that fails half way is cleaned up too:
 * call `dispose` from `afterAll` whatever happened.
 */
export class ClusterSetup {
  /** Files, Redis keys, the database: undone last-in first-out after the processes stopped. */
  private readonly cleanups: (() => Promise<void>)[] = [];
  private readonly running = new Set<RunningPharos>();
  private nginx: RunningNginx | undefined;
  cluster: Cluster | undefined;

  async start(options: { replicas: number; tenants: Json[] }): Promise<Cluster> {
    const database = await TestDatabase.create();
    this.cleanups.push(() => database.drop());
    const redisPrefix = uniquePrefix();
    this.cleanups.push(() => deleteKeys(SHARED_REDIS_URL, redisPrefix));
    const adminToken = `pharos-replicas-test-${randomBytes(16).toString('hex')}`;

    const configFor = (dataDir: string): Json => ({
      dataDir,
      // Info: the limiter logs each move between Redis and its local buckets (see limiterEpisodes).
      log: { level: 'info' },
      demo: { enabled: false },
      registry: { url: database.url },
      redis: { url: SHARED_REDIS_URL, keyPrefix: redisPrefix },
      limits: { replicas: options.replicas },
      admin: { token: adminToken },
      // Load shedding refuses every tenant's requests alike while a replica's event loop lags past
      // 250 ms. On this shared two-core machine other processes (linters, other test files) stall
      // a replica that long now and then, whatever this test sends (measured: 503s to both tenants
      // on one replica at 325 requests/s, while the same load alone lags 5-60 ms). That is not
      // what this suite measures (limits, isolation, propagation); shedding has its own tests.
      shedding: { maxEventLoopDelay: 0 },
      tenants: options.tenants,
    });

    // Started together, as a deployment rolls them out: migrations and the reconciliation of
    // `tenants` race on the empty database, which they must survive.
    const settled = await Promise.allSettled(
      Array.from({ length: options.replicas }, async (_, i): Promise<Replica> => {
        const dataDir = mkdtempSync(join(tmpdir(), `pharos-replica-${i + 1}-`));
        this.cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
        const configFile = join(dataDir, 'pharos.yaml');
        writeFileSync(configFile, stringify(configFor(dataDir)));
        const started = await startCli(['--config', configFile]);
        this.running.add(started);
        track(started.child.pid, 'SIGKILL');
        return {
          index: i + 1,
          process: started,
          dataDir,
          publicAddress: new URL(started.publicUrl).host,
        };
      }),
    );
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const replicas = settled.map((result) => (result as PromiseFulfilledResult<Replica>).value);

    this.nginx = await startNginx(replicas.map((replica) => replica.publicAddress));
    const nginx = this.nginx;
    track(nginx.pid, 'SIGTERM');

    this.cluster = {
      replicas,
      nginx,
      adminToken,
      database,
      redisPrefix,
      logs: () =>
        replicas
          .map(
            (replica) =>
              `--- replica ${replica.index}\n${replica.process.banner}\n${replica.process.stdout()}`,
          )
          .join('\n'),
    };
    return this.cluster;
  }

  /** Undoes everything `start` did; every step runs even if one fails. */
  async dispose(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (step: () => Promise<void>) => {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    };
    // The processes first (the balancer, then the replicas, together), so that nothing writes to
    // the database or Redis while they are removed.
    const nginx = this.nginx;
    if (nginx) {
      await attempt(async () => {
        await nginx.stop();
        livePids.delete(nginx.pid);
      });
    }
    await Promise.all(
      [...this.running].map((replica) =>
        attempt(async () => {
          await stopReplica(replica);
          this.running.delete(replica);
          if (replica.child.pid !== undefined) livePids.delete(replica.child.pid);
        }),
      ),
    );
    while (this.cleanups.length > 0) await attempt(this.cleanups.pop()!);
    if (errors.length > 0) throw new AggregateError(errors, 'cluster cleanup failed');
  }
}

/** Polls `check` every `intervalMs` until it returns true; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** One sample of a Prometheus text exposition (labels as written), summed over matching lines. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const written = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => written.includes(`${key}="${value}"`)))
      sum += Number(match[3]);
  }
  return sum;
}

export async function scrape(replica: Replica): Promise<string> {
  const response = await fetch(`${replica.process.internalUrl}/metrics`);
  return response.text();
}

/** Times a replica's limiter counted on its own buckets instead of Redis, within a window. */
export interface LocalCounting {
  /** Moves from Redis to the local buckets that overlap the window. */
  episodes: number;
  /** Time spent on the local buckets within the window (ms). */
  localMs: number;
}

/**
 * When `replica`'s limiter decided on its local buckets (each limit divided by the replica
 * count) rather than in Redis, between `fromMs` and `toMs` (epoch ms), from its own log: it logs
 * every move (a warning when it leaves Redis, info when Redis answers again).
 */
export function limiterEpisodes(replica: Replica, fromMs: number, toMs: number): LocalCounting {
  const moves: { time: number; local: boolean }[] = [];
  for (const line of replica.process.stdout().split('\n')) {
    if (!line.includes('"component":"limits"')) continue;
    let entry: { time?: number; level?: number; msg?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (typeof entry.time !== 'number' || typeof entry.msg !== 'string') continue;
    if (entry.msg.startsWith('Redis is unreachable or slow'))
      moves.push({ time: entry.time, local: true });
    else if (entry.msg.includes('shared by every replica'))
      moves.push({ time: entry.time, local: false });
  }
  // Until the first "shared" line the limiter counts locally (it starts there).
  let local = true;
  let since = -Infinity;
  let episodes = 0;
  let localMs = 0;
  const close = (until: number) => {
    if (since < toMs && until > fromMs) {
      episodes++;
      localMs += Math.min(until, toMs) - Math.max(since, fromMs);
    }
  };
  for (const move of moves.sort((a, b) => a.time - b.time)) {
    if (move.local === local) continue;
    if (local) close(move.time);
    local = move.local;
    since = move.time;
  }
  if (local) close(Infinity);
  return { episodes, localMs };
}
