import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry as MetricsRegistry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdmission } from '../../src/admission/index.js';
import { createLimiter } from '../../src/admission/limits/index.js';
import { usage } from '../../src/admission/limits/testing/fixtures.js';
import { validateConfig } from '../../src/config/index.js';
import {
  Registry,
  openSqliteRegistry,
  reconcileRegistry,
  type RegistryStore,
} from '../../src/registry/index.js';

/*
 * The performance budget wants memory flat with 10,000 apps (docs/performance.md): about 1 KiB an
 * app of live heap, since RSS grows by ~2.5× that. What a request needs before the pipeline (the
 * registry's cached app and key, the origin check, the limiter's plan, charge set and buckets)
 * measured ~1.7 KiB an app here; sharing what apps have in common (registry/compact.ts, origin
 * matchers by list, charge-set shapes) brought it to ~0.65 KiB.
 */

const TENANTS = 20;
const APPS_PER_TENANT = 100;
const ORIGIN = 'https://shop.example.com';

/** The bench's shape: limits at every level (evaluated, never refusing), one origin, one key. */
function declaredConfig() {
  const unlimited = { requests: { perSecond: 1e9, burst: 1e9 } };
  return validateConfig({
    limits: { global: unlimited, tenant: unlimited, app: unlimited },
    tenants: Array.from({ length: TENANTS }, (_, t) => ({
      id: `t${t}`,
      apps: Array.from({ length: APPS_PER_TENANT }, (_, a) => ({
        id: `t${t}-a${a}`,
        allowedOrigins: [ORIGIN],
        keys: [`key-t${t}-a${a}-0123456789`],
      })),
    })),
  });
}

/** A cache of the store, and one admitted and charged request for each of `keys`. */
async function serveEveryApp(
  store: RegistryStore,
  config: ReturnType<typeof declaredConfig>,
  keys: readonly string[],
) {
  const registry = new Registry(store);
  await registry.refresh(true);
  const admission = createAdmission(registry);
  const limiter = createLimiter({
    limits: config.limits,
    tenantOf: (id) => registry.cachedTenant(id),
    metricsRegistry: new MetricsRegistry(),
    logger: { info: () => {}, warn: () => {}, debug: () => {} } as never,
  });
  for (const key of keys) {
    const admitted = admission.admit({ pathKey: key, headerKey: undefined, origin: ORIGIN });
    const { tenantId } = admitted.sender;
    const request = limiter.checkRequest(tenantId, admitted.app) as { allowed: boolean };
    const payload = limiter.checkPayload(tenantId, admitted.app, usage({ log: 3 })) as {
      allowed: boolean;
    };
    expect(request.allowed && payload.allowed).toBe(true);
  }
  return { registry, admission, limiter };
}

describe('memory per app', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-app-memory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the cached app, its origin check, limiter plan and buckets in under 1 KiB an app', async () => {
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    const config = declaredConfig();
    const keys = config.tenants.flatMap((tenant) => tenant.apps.map((app) => app.keys[0]!));
    const store = openSqliteRegistry(join(dir, 'registry.db'));
    const loader = new Registry(store);
    await loader.refresh(true);
    await reconcileRegistry(loader, config.tenants);
    // Once over a few apps first, so that compiled code and one-time state are not counted.
    await serveEveryApp(store, config, keys.slice(0, 20));

    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const served = await serveEveryApp(store, config, keys);
    collectGarbage();
    const perApp = (process.memoryUsage().heapUsed - before) / keys.length;
    expect(served.registry.appCount()).toBe(keys.length);
    expect(perApp).toBeLessThan(1024);
    await served.limiter.close();
    await store.close();
  });
});
