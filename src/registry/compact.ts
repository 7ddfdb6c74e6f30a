import type { App, Limits, Source, Tenant } from './types.js';

const SOURCES: Readonly<Record<Source, Source>> = { config: 'config', api: 'api', demo: 'demo' };

/**
 * Makes the apps of one registry snapshot share what they have in common. The cache holds every
 * app for as long as the process runs, and a store makes new strings, arrays and objects for
 * every row, although most are equal from app to app: no environments, the same allowed origins
 * and limits, the tenant id, the source, the name when it is the id. With 10,000 apps those
 * copies were ~500 bytes an app.
 *
 * Equal lists and limits become one frozen object (nothing writes to a cached app; a write would
 * now throw instead of changing other apps), and repeated strings one string. One compactor per
 * snapshot: it is dropped after the load, so nothing accumulates across reloads, and each reload
 * still makes new objects, which is what the WeakMaps keyed by them (origin matchers, limiter
 * plans) rely on to see a change.
 */
export class AppCompactor {
  private readonly lists = new Map<string, readonly string[]>();
  private readonly limits = new Map<string, Limits>();

  compact(app: App, tenant: Tenant | undefined): App {
    return {
      id: app.id,
      tenantId: tenant?.id === app.tenantId ? tenant.id : app.tenantId,
      name: app.name === app.id ? app.id : app.name,
      allowedOrigins: this.list(app.allowedOrigins),
      environments: this.list(app.environments),
      samplingRate: app.samplingRate,
      tracePropagationUrls: this.list(app.tracePropagationUrls),
      ignoreUrls: this.list(app.ignoreUrls),
      limits: this.sharedLimits(app.limits),
      source: SOURCES[app.source] ?? app.source,
      createdAt: app.createdAt,
      updatedAt: app.updatedAt,
    };
  }

  // The App type says string[]: its lists are not declared readonly, but cached ones are frozen.
  private list(list: string[]): string[] {
    const id = JSON.stringify(list);
    let shared = this.lists.get(id);
    if (shared === undefined) {
      shared = Object.freeze([...list]);
      this.lists.set(id, shared);
    }
    return shared as string[];
  }

  private sharedLimits(limits: Limits): Limits {
    const id = JSON.stringify(limits);
    let shared = this.limits.get(id);
    if (shared === undefined) {
      shared = deepFreeze(structuredClone(limits));
      this.limits.set(id, shared);
    }
    return shared;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
