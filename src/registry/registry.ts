import { createHash } from 'node:crypto';
import { PharosError } from '../errors/index.js';
import { isSlug, randomToken } from '../lib/ids.js';
import type {
  AdminToken,
  App,
  AppKey,
  RegistrySnapshot,
  RegistryStore,
  Source,
  Tenant,
} from './types.js';

/** What an app key resolves to on the hot path. */
export interface ResolvedKey {
  readonly app: App;
  readonly tenant: Tenant;
  readonly expiresAt: number | null;
}

export interface CreateAppInput {
  id?: string | undefined;
  tenantId: string;
  name: string;
  allowedOrigins?: string[] | undefined;
  source?: Source;
}

export interface RegistryOptions {
  clock?: () => number;
  /** Called after every cache reload, with the number of apps (for metrics). */
  /** Awaited by `refresh`, so a change made through this registry is in effect when the call returns. */
  onReload?: (snapshot: RegistrySnapshot) => void | Promise<void>;
}

/** App keys start with this, so that they are recognisable in configs and logs. */
export const APP_KEY_PREFIX = 'pk_';

export function newAppKey(): string {
  // Only [A-Za-z0-9_]: the Faro SDK's default ignore pattern for its own collector URL is /\/collect(?:\/[\w]*)?$/.
  return `${APP_KEY_PREFIX}${randomToken(32)}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The registry: an in-memory cache that the ingest path reads synchronously, in front of a
 * store that holds the truth. Every change goes through the store and then reloads the cache;
 * other processes (the CLI, other replicas) are picked up by polling the store's version.
 */
export class Registry {
  readonly store: RegistryStore;
  private readonly clock: () => number;
  private readonly onReload: ((snapshot: RegistrySnapshot) => void | Promise<void>) | undefined;
  private byKey = new Map<string, ResolvedKey>();
  private apps = new Map<string, App>();
  private tenants = new Map<string, Tenant>();
  private loadedVersion = -1;
  private poller: NodeJS.Timeout | undefined;

  constructor(store: RegistryStore, options: RegistryOptions = {}) {
    this.store = store;
    this.clock = options.clock ?? Date.now;
    this.onReload = options.onReload;
  }

  // --- the hot path: synchronous, memory only ---

  /** The app and tenant of a key that is valid now; undefined for unknown or expired keys. */
  resolveKey(key: string): ResolvedKey | undefined {
    const resolved = this.byKey.get(key);
    if (resolved === undefined) return undefined;
    if (resolved.expiresAt !== null && resolved.expiresAt <= this.clock()) return undefined;
    return resolved;
  }

  /** True when the key exists but its rotation grace period is over. */
  isExpiredKey(key: string): boolean {
    const resolved = this.byKey.get(key);
    return (
      resolved !== undefined && resolved.expiresAt !== null && resolved.expiresAt <= this.clock()
    );
  }

  cachedApp(id: string): App | undefined {
    return this.apps.get(id);
  }

  cachedTenant(id: string): Tenant | undefined {
    return this.tenants.get(id);
  }

  appCount(): number {
    return this.apps.size;
  }

  // --- cache maintenance ---

  /** Reloads the cache when the store changed since the last load (or always, with `force`). */
  async refresh(force = false): Promise<void> {
    if (!force && (await this.store.version()) === this.loadedVersion) return;
    const snapshot = await this.store.snapshot();
    const tenants = new Map(snapshot.tenants.map((tenant) => [tenant.id, tenant]));
    const apps = new Map(snapshot.apps.map((app) => [app.id, app]));
    const byKey = new Map<string, ResolvedKey>();
    for (const key of snapshot.keys) {
      const app = apps.get(key.appId);
      const tenant = app && tenants.get(app.tenantId);
      if (app && tenant) byKey.set(key.key, { app, tenant, expiresAt: key.expiresAt });
    }
    // Swap whole maps: a request in flight sees either the old registry or the new one.
    this.tenants = tenants;
    this.apps = apps;
    this.byKey = byKey;
    this.loadedVersion = snapshot.version;
    await this.onReload?.(snapshot);
  }

  /** Polls the store for changes made elsewhere (CLI, other replicas). */
  startPolling(intervalMs: number, onError: (error: unknown) => void): void {
    this.stopPolling();
    this.poller = setInterval(() => void this.refresh().catch(onError), intervalMs);
    this.poller.unref();
  }

  stopPolling(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
  }

  // --- changes (admin API, CLI, reconciliation, first start) ---

  async createTenant(input: {
    id: string;
    name?: string | undefined;
    source?: Source;
  }): Promise<Tenant> {
    assertId(input.id, 'tenant id');
    const tenant = await this.store.transaction(async () => {
      if (await this.store.getTenant(input.id)) {
        throw new PharosError('CONFLICT', `tenant ${input.id} already exists`);
      }
      return this.store.createTenant({
        id: input.id,
        name: input.name ?? input.id,
        source: input.source ?? 'api',
      });
    });
    await this.refresh(true);
    return tenant;
  }

  /** Creates an app with a first key; returns both (the key is the one to put in the Faro config). */
  async createApp(input: CreateAppInput): Promise<{ app: App; key: AppKey }> {
    const id = input.id ?? input.name;
    assertId(id, 'app id');
    const allowedOrigins = normaliseOrigins(input.allowedOrigins ?? []);
    const result = await this.store.transaction(async () => {
      if (!(await this.store.getTenant(input.tenantId))) {
        throw new PharosError('NOT_FOUND', `tenant ${input.tenantId} does not exist`);
      }
      if (await this.store.getApp(id))
        throw new PharosError('CONFLICT', `app ${id} already exists`);
      const source = input.source ?? 'api';
      const app = await this.store.createApp({
        id,
        tenantId: input.tenantId,
        name: input.name,
        allowedOrigins,
        source,
      });
      const key: AppKey = {
        key: newAppKey(),
        appId: id,
        source,
        createdAt: this.clock(),
        expiresAt: null,
      };
      await this.store.addKey(key);
      return { app, key };
    });
    await this.refresh(true);
    return result;
  }

  async updateApp(
    id: string,
    changes: { name?: string | undefined; allowedOrigins?: string[] | undefined },
  ): Promise<App> {
    const allowedOrigins =
      changes.allowedOrigins === undefined ? undefined : normaliseOrigins(changes.allowedOrigins);
    const updated = await this.store.transaction(async () => {
      const app = await this.store.getApp(id);
      if (!app) throw new PharosError('NOT_FOUND', `app ${id} does not exist`);
      if (app.source === 'config') {
        throw new PharosError(
          'CONFLICT',
          `app ${id} is managed by the config file; change it there`,
        );
      }
      return (await this.store.updateApp(id, { name: changes.name, allowedOrigins })) as App;
    });
    await this.refresh(true);
    return updated;
  }

  /**
   * Issues a new key for an app. The app's other keys stay valid for `graceMs` (so pages still
   * running the old snippet keep sending), then are refused.
   */
  async rotateKey(
    appId: string,
    graceMs: number,
  ): Promise<{ key: AppKey; previousKeysExpireAt: number }> {
    const result = await this.store.transaction(async () => {
      const app = await this.store.getApp(appId);
      if (!app) throw new PharosError('NOT_FOUND', `app ${appId} does not exist`);
      if (app.source === 'config') {
        throw new PharosError(
          'CONFLICT',
          `app ${appId} is managed by the config file; change its keys there`,
        );
      }
      const now = this.clock();
      const key: AppKey = {
        key: newAppKey(),
        appId,
        source: 'api',
        createdAt: now,
        expiresAt: null,
      };
      await this.store.addKey(key);
      await this.store.expireKeys(appId, now + graceMs, key.key);
      return { key, previousKeysExpireAt: now + graceMs };
    });
    await this.refresh(true);
    return result;
  }

  /** Issues an admin token; returns the token itself, which is never stored. */
  async createToken(
    name: string,
    scopes: string[],
    options: { expiresAt?: number | null } = {},
  ): Promise<{ token: string; record: AdminToken }> {
    const token = `pha_${randomToken(40)}`;
    const record: AdminToken = {
      id: randomToken(12),
      name,
      hash: hashToken(token),
      scopes,
      createdAt: this.clock(),
      expiresAt: options.expiresAt ?? null,
      revokedAt: null,
    };
    await this.store.addToken(record);
    return { token, record };
  }

  /** The record of a token that is valid now (not revoked, not expired). */
  async findToken(token: string): Promise<AdminToken | undefined> {
    const record = await this.store.findTokenByHash(hashToken(token));
    if (!record || record.revokedAt !== null) return undefined;
    if (record.expiresAt !== null && record.expiresAt <= this.clock()) return undefined;
    return record;
  }
}

function assertId(id: string, what: string): void {
  if (!isSlug(id)) {
    throw new PharosError(
      'INVALID_REQUEST',
      `${what} ${JSON.stringify(id)} must be 1–64 lower-case letters, digits or dashes, not starting or ending with a dash`,
    );
  }
}

/**
 * Checks and normalises allowed origins: `*`, `null`, or `scheme://host[:port]` where the host may
 * start with `*.` and the port may be `*`. Paths are refused: an origin never has one.
 */
export function normaliseOrigins(origins: readonly string[]): string[] {
  return origins.map((origin) => {
    const value = origin.trim().toLowerCase();
    if (value === '*' || value === 'null') return value;
    const match = /^(https?):\/\/((?:\*\.)?[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}|\*))?\/?$/.exec(
      value,
    );
    if (!match) {
      throw new PharosError(
        'INVALID_REQUEST',
        `allowed origin ${JSON.stringify(origin)} must look like https://app.example.com, https://*.example.com, http://localhost:*, or *`,
      );
    }
    const [, scheme, host, port] = match;
    const defaultPort = scheme === 'https' ? '443' : '80';
    return port === undefined || port === defaultPort
      ? `${scheme}://${host}`
      : `${scheme}://${host}:${port}`;
  });
}
