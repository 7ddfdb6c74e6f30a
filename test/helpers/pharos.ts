import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startPharos, type Pharos } from '../../src/app/pharos.js';
import { validateConfig } from '../../src/config/index.js';

export interface TestPharos extends Pharos {
  dataDir: string;
  adminToken: string;
  /** Stops Pharos and removes its data dir. */
  stop(): Promise<void>;
}

type Json = Record<string, unknown>;

function merge(base: Json, extra: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof current === 'object' &&
      current !== null
        ? merge(current as Json, value as Json)
        : value;
  }
  return out;
}

/**
 * Starts a real Pharos in this process: both listeners on free loopback ports, a fresh data dir,
 * a short store flush interval. `settings` is a config object as it would be written in YAML.
 */
export async function startTestPharos(
  settings: Json = {},
  options: { dataDir?: string; clock?: () => number } = {},
): Promise<TestPharos> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pharos-test-'));
  const config = validateConfig(
    merge(
      {
        server: { public: '127.0.0.1:0', internal: '127.0.0.1:0', shutdownTimeout: '5s' },
        dataDir,
        log: { level: 'silent' },
        store: { flushInterval: '10ms' },
        // Test files run side by side on two cores, where a starved process reads as a lagging
        // event loop; shedding would then refuse what a test expects to be taken. The shedding
        // tests turn it on.
        shedding: { maxEventLoopDelay: 0 },
      },
      settings,
    ),
  );
  const pharos = await startPharos(config, {
    logger: pino({ level: process.env.PHAROS_TEST_LOG ?? 'silent' }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { readFileSync } = await import('node:fs');
  const adminToken = readFileSync(pharos.adminTokenFile, 'utf8').trim();
  return Object.assign(Object.create(pharos) as Pharos, pharos, {
    dataDir,
    adminToken,
    async stop() {
      await pharos.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** The app the fixtures were captured for: its key is the one in their path. */
export const FIXTURE_APP = {
  tenant: 'capture',
  app: 'capture-app',
  key: 'test-app-key-0123456789abcdef',
  origin: 'http://127.0.0.1:5600',
};

export function fixtureTenantConfig(allowedOrigins: string[] = [FIXTURE_APP.origin]): Json {
  return {
    tenants: [
      {
        id: FIXTURE_APP.tenant,
        apps: [{ id: FIXTURE_APP.app, allowedOrigins, keys: [FIXTURE_APP.key] }],
      },
    ],
  };
}

/** GET on the internal listener with the admin token. */
export async function apiGet<T>(pharos: TestPharos, path: string): Promise<T> {
  const response = await fetch(`${pharos.internalUrl}${path}`, {
    headers: { authorization: `Bearer ${pharos.adminToken}` },
  });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
