import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's Prometheus (scripts/install-system-deps.sh installs it; CI does the same). */
const PROMETHEUS_BIN = process.env.PHAROS_TEST_PROMETHEUS ?? '/usr/bin/prometheus';

export interface PrometheusSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** An instant query through the HTTP API; NaN and ±Inf come back as numbers. */
  query(expression: string): Promise<PrometheusSample[]>;
  /** Prometheus's own log, for failure messages. */
  log(): string;
  /** SIGTERM, then SIGKILL after 5 s; removes the temporary directory. */
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** `host:port` endpoints serving `/metrics`. */
  readonly targets: readonly string[];
  readonly scrapeIntervalSeconds?: number;
}

/** Prometheus stopped before it was ready (most likely: its port was taken meanwhile). */
class ExitedEarly extends Error {}

/**
 * Starts a real Prometheus on a free loopback port, with a temporary config and data directory:
 * it scrapes only `targets` (on loopback) and talks to nothing else. Resolves once `/-/ready`
 * answers. The port is found by binding port 0 first; if another process takes it in between,
 * Prometheus exits and the start is retried on a new port.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  if (!existsSync(PROMETHEUS_BIN)) {
    throw new Error(
      `${PROMETHEUS_BIN} is missing: run scripts/install-system-deps.sh as root (or set PHAROS_TEST_PROMETHEUS)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'pharos-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, scrapeConfig(options));
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(configFile, dir, await freePort());
      } catch (error) {
        if (!(error instanceof ExitedEarly) || attempt === 3) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function scrapeConfig({ targets, scrapeIntervalSeconds = 1 }: PrometheusOptions): string {
  // JSON is YAML: no hand-written indentation to get wrong.
  return JSON.stringify({
    global: {
      scrape_interval: `${scrapeIntervalSeconds}s`,
      scrape_timeout: `${scrapeIntervalSeconds}s`,
      evaluation_interval: '1m',
    },
    scrape_configs: [{ job_name: 'pharos', static_configs: [{ targets }] }],
  });
}

async function launch(configFile: string, dir: string, port: number): Promise<RunningPrometheus> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const running: RunningPrometheus = {
    url,
    query: (expression) => query(url, expression),
    log: () => log,
    stop: async () => {
      await stopProcess(child, exited);
      await rm(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + 15_000;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new ExitedEarly(`prometheus exited with ${exitCode} before it was ready:\n${log}`);
    }
    if (await isReady(url)) return running;
    await sleep(100);
  }
  await stopProcess(child, exited);
  throw new Error(`prometheus was not ready within 15 s:\n${log}`);
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/-/ready`);
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

interface QueryResponse {
  status: string;
  error?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; value: [number, string] }[];
  };
}

async function query(url: string, expression: string): Promise<PrometheusSample[]> {
  const response = await fetch(
    `${url}/api/v1/query?${new URLSearchParams({ query: expression }).toString()}`,
  );
  const body = (await response.json()) as QueryResponse;
  if (body.status !== 'success' || body.data?.resultType !== 'vector') {
    throw new Error(`query ${expression} failed: ${response.status} ${JSON.stringify(body)}`);
  }
  // Prometheus sends sample values as strings ("0.45", "NaN", "+Inf"); Number() reads all three.
  return body.data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
}

async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns a value (not undefined) or the deadline passes; then fails with
 * the last value seen and `describe()` (say, Prometheus's log).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number; describe?: () => string } = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 200, describe = () => '' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = ` (last error: ${error instanceof Error ? error.message : JSON.stringify(error)})`;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError}\n${describe()}`);
}
