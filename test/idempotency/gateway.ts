import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { startPharos } from '../../src/app/pharos.js';
import { validateConfig } from '../../src/config/index.js';
import { ERRORS } from '../../src/errors/index.js';

/**
 * A real Pharos (both listeners on loopback, a fresh data dir) configured with the given apps,
 * for the sampling and idempotency tests. Started directly rather than through
 * `startTestPharos`, to capture its log.
 */

export interface GatewayApp {
  tenant: string;
  id: string;
  key: string;
  samplingRate?: number;
  allowedOrigins?: string[];
}

export interface GatewayOptions {
  apps: GatewayApp[];
  /** `idempotency.window` in ms (default 10 min). */
  idempotencyWindowMs?: number;
  redis?: { url: string; keyPrefix: string; connectTimeoutMs?: number };
  maxKeys?: number;
}

export interface Gateway {
  publicUrl: string;
  /** Items passed to the sinks (answered 202 and ingested) for a tenant. */
  ingestedItems(tenant: string): Promise<number>;
  /** Prometheus text of the gateway's metrics. */
  metricsText(): Promise<string>;
  /** Warnings and errors logged so far (messages). */
  logged(): string[];
  stop(): Promise<void>;
}

export const IN_PROGRESS_CODE = ERRORS.IDEMPOTENCY_IN_PROGRESS.code;

function capturingLogger(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        const entry = JSON.parse(line) as { msg: string; level: number };
        if (entry.level >= 40) messages.push(entry.msg);
      }
      callback();
    },
  });
  return { logger: pino({ level: 'info' }, sink), messages };
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const tenants = new Map<string, Record<string, unknown>[]>();
  for (const app of options.apps) {
    const apps = tenants.get(app.tenant) ?? [];
    apps.push({
      id: app.id,
      keys: [app.key],
      allowedOrigins: app.allowedOrigins ?? [],
      ...(app.samplingRate === undefined ? {} : { samplingRate: app.samplingRate }),
    });
    tenants.set(app.tenant, apps);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'pharos-gateway-'));
  const config = validateConfig({
    server: { public: '127.0.0.1:0', internal: '127.0.0.1:0', shutdownTimeout: '5s' },
    dataDir,
    log: { level: 'info' },
    store: { flushInterval: '10ms' },
    // As in startTestPharos: a process starved by other test files is not overloaded.
    shedding: { maxEventLoopDelay: 0 },
    demo: { enabled: false },
    tenants: [...tenants].map(([id, apps]) => ({ id, apps })),
    idempotency: {
      window: options.idempotencyWindowMs ?? '10m',
      ...(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys }),
    },
    ...(options.redis
      ? { redis: { url: options.redis.url, keyPrefix: options.redis.keyPrefix } }
      : {}),
  });
  const { logger, messages } = capturingLogger();
  const pharos = await startPharos(config, { logger });
  const metricsText = async () => (await fetch(`${pharos.internalUrl}/metrics`)).text();
  return {
    publicUrl: pharos.publicUrl,
    async ingestedItems(tenant) {
      return sumCounter(await metricsText(), 'pharos_items_received_total', { tenant });
    },
    metricsText,
    logged: () => [...messages],
    async stop() {
      await pharos.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Sum of the samples of counter `name` whose labels include `labels`. */
export function sumCounter(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`)))
      continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
