import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from '../registry/index.js';

export interface DemoApp {
  tenantId: string;
  appId: string;
  key: string;
}

/**
 * First start with an empty registry: create the `demo` tenant and app, allowed to send from the
 * internal listener's demo page. Returns undefined when the registry already has tenants.
 */
export async function bootstrapDemo(
  registry: Registry,
  demoOrigins: string[],
): Promise<DemoApp | undefined> {
  // Checked and created in one transaction: replicas starting together on an empty shared
  // (PostgreSQL) registry create the demo once; the others find a tenant and leave it.
  const created = await registry.store.transaction(async () => {
    if ((await registry.store.listTenants()).length > 0) return false;
    await registry.store.createTenant({ id: 'demo', name: 'Demo', source: 'demo' });
    return true;
  });
  if (!created) return undefined;
  const { app, key } = await registry.createApp({
    id: 'demo',
    tenantId: 'demo',
    name: 'Demo app',
    allowedOrigins: demoOrigins,
    source: 'demo',
  });
  return { tenantId: 'demo', appId: app.id, key: key.key };
}

/** The first live key of the demo app, for the demo page (undefined when there is no demo app). */
export async function demoKey(registry: Registry): Promise<string | undefined> {
  const app = await registry.store.getApp('demo');
  if (!app) return undefined;
  const now = Date.now();
  const keys = (await registry.store.listKeys(app.id)).filter(
    (key) => key.expiresAt === null || key.expiresAt > now,
  );
  return keys[keys.length - 1]?.key;
}

export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * Makes sure `<dataDir>/admin-token` holds a valid admin token, so that the CLI on this machine
 * works without setup. Only the hash is in the registry; the file (mode 0600) is the one copy.
 */
export async function ensureAdminToken(
  registry: Registry,
  dataDir: string,
): Promise<{ file: string; created: boolean }> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token !== '' && (await registry.findToken(token))) return { file, created: false };
  }
  const { token } = await registry.createToken('local admin (admin-token file)', ['admin']);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { file, created: true };
}
