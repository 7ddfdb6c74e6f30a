import type { DeclaredTenantConfig } from '../config/index.js';
import { PharosError } from '../errors/index.js';
import { normaliseOrigins, type Registry } from './registry.js';
import { APP_DEFAULTS, type AppSettings, type TenantSinks } from './types.js';

export interface ReconcileReport {
  created: string[];
  updated: string[];
  deleted: string[];
}

/**
 * Makes the registry match the declarative `tenants` list of the config file, in one transaction.
 * Declared tenants, apps and keys are created or updated and marked `config`; objects marked
 * `config` that are no longer declared are deleted; objects created through the API are kept.
 * Declaring an id that the API created takes it over (the file is the source of truth).
 */
export async function reconcileRegistry(
  registry: Registry,
  declared: readonly DeclaredTenantConfig[],
  clock: () => number = Date.now,
): Promise<ReconcileReport> {
  const store = registry.store;
  const report: ReconcileReport = { created: [], updated: [], deleted: [] };
  assertUnique(declared);

  await store.transaction(async () => {
    const declaredTenants = new Set(declared.map((tenant) => tenant.id));
    const declaredApps = new Set(declared.flatMap((tenant) => tenant.apps.map((app) => app.id)));

    for (const tenant of declared) {
      const sinks: TenantSinks = tenant.sinks ?? {};
      const wanted = {
        name: tenant.name ?? tenant.id,
        orgId: tenant.orgId ?? null,
        sinks,
        limits: tenant.limits ?? {},
      };
      const current = await store.getTenant(tenant.id);
      if (!current) {
        await store.createTenant({ id: tenant.id, ...wanted, source: 'config' });
        report.created.push(`tenant ${tenant.id}`);
      } else if (current.source !== 'config' || !sameFields(current, wanted)) {
        await store.updateTenant(tenant.id, { ...wanted, source: 'config' });
        report.updated.push(`tenant ${tenant.id}`);
      }

      for (const app of tenant.apps) {
        const settings: AppSettings = {
          ...APP_DEFAULTS,
          name: app.name ?? app.id,
          allowedOrigins: normaliseOrigins(app.allowedOrigins),
          environments: app.environments ?? [],
          samplingRate: app.samplingRate ?? 1,
          tracePropagationUrls: app.tracePropagationUrls ?? [],
          ignoreUrls: app.ignoreUrls ?? [],
          limits: app.limits ?? {},
        };
        const existing = await store.getApp(app.id);
        if (existing && existing.tenantId !== tenant.id) {
          throw new PharosError(
            'CONFIG_INVALID',
            `app ${app.id} is declared under tenant ${tenant.id} but belongs to tenant ${existing.tenantId}; apps cannot move between tenants`,
          );
        }
        if (!existing) {
          await store.createApp({ id: app.id, tenantId: tenant.id, ...settings, source: 'config' });
          report.created.push(`app ${app.id}`);
        } else if (existing.source !== 'config' || !sameFields(existing, settings)) {
          await store.updateApp(app.id, { ...settings, source: 'config' });
          report.updated.push(`app ${app.id}`);
        }

        const wanted = new Set(app.keys);
        for (const key of await store.listKeys(app.id)) {
          if (!wanted.has(key.key)) {
            await store.deleteKey(key.key);
            report.deleted.push(`key ${mask(key.key)} of app ${app.id}`);
          }
        }
        for (const key of app.keys) {
          const owner = await store.findKey(key);
          if (owner && owner.appId !== app.id) {
            throw new PharosError(
              'CONFIG_INVALID',
              `key ${mask(key)} of app ${app.id} is already a key of app ${owner.appId}`,
            );
          }
          if (!owner) {
            await store.addKey({
              key,
              appId: app.id,
              source: 'config',
              createdAt: clock(),
              expiresAt: null,
            });
            report.created.push(`key ${mask(key)} of app ${app.id}`);
          }
        }
      }
    }

    for (const app of await store.listApps()) {
      if (app.source === 'config' && !declaredApps.has(app.id)) {
        await store.deleteApp(app.id);
        report.deleted.push(`app ${app.id}`);
      }
    }
    for (const tenant of await store.listTenants()) {
      if (tenant.source === 'config' && !declaredTenants.has(tenant.id)) {
        await store.deleteTenant(tenant.id);
        report.deleted.push(`tenant ${tenant.id}`);
      }
    }
  });
  await registry.refresh(true);
  return report;
}

function assertUnique(declared: readonly DeclaredTenantConfig[]): void {
  const seen = new Set<string>();
  for (const tenant of declared) {
    if (seen.has(`tenant:${tenant.id}`))
      throw new PharosError('CONFIG_INVALID', `tenants: ${tenant.id} is declared twice`);
    seen.add(`tenant:${tenant.id}`);
    for (const app of tenant.apps) {
      if (seen.has(`app:${app.id}`))
        throw new PharosError('CONFIG_INVALID', `tenants: app ${app.id} is declared twice`);
      seen.add(`app:${app.id}`);
      for (const key of app.keys) {
        if (seen.has(`key:${key}`))
          throw new PharosError('CONFIG_INVALID', `tenants: key ${mask(key)} is declared twice`);
        seen.add(`key:${key}`);
      }
    }
  }
}

/** Keys are public, but logs need not repeat them whole. */
function mask(key: string): string {
  return key.length <= 10 ? key : `${key.slice(0, 6)}…${key.slice(-4)}`;
}

/** Whether `current` already has every field of `wanted` (compared as JSON, order included). */
function sameFields(current: object, wanted: object): boolean {
  const have = current as Record<string, unknown>;
  return Object.entries(wanted).every(
    ([key, value]) => JSON.stringify(have[key]) === JSON.stringify(value),
  );
}
