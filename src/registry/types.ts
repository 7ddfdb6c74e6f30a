/** Where a registry object came from: the declarative config file, the API/CLI, or the first-start demo. */
export type Source = 'config' | 'api' | 'demo';

/** A tenant's overrides of the global sink settings (validated by the config schema). */
export interface TenantSinks {
  loki?: Record<string, unknown>;
  traces?: Record<string, unknown>;
}

export interface Tenant {
  id: string;
  name: string;
  /** `X-Scope-OrgID` for its Loki and Tempo data; null: the tenant id. */
  orgId: string | null;
  sinks: TenantSinks;
  source: Source;
  createdAt: number;
  updatedAt: number;
}

export interface App {
  id: string;
  tenantId: string;
  name: string;
  /** Browser origins allowed to send (`https://a.example`, `https://*.example`, `*`); empty: any. */
  allowedOrigins: string[];
  source: Source;
  createdAt: number;
  updatedAt: number;
}

export interface AppKey {
  key: string;
  appId: string;
  source: Source;
  createdAt: number;
  /** After this time (ms since the epoch) the key is refused; null: valid until deleted. */
  expiresAt: number | null;
}

export interface AdminToken {
  id: string;
  name: string;
  /** SHA-256 of the token, hex. The token itself is shown once and never stored. */
  hash: string;
  scopes: string[];
  createdAt: number;
}

export interface RegistrySnapshot {
  version: number;
  tenants: Tenant[];
  apps: App[];
  keys: AppKey[];
}

export interface NewTenant {
  id: string;
  name: string;
  orgId?: string | null;
  sinks?: TenantSinks;
  source: Source;
}

export interface TenantChanges {
  name?: string;
  orgId?: string | null;
  sinks?: TenantSinks;
  source?: Source;
}

export interface NewApp {
  id: string;
  tenantId: string;
  name: string;
  allowedOrigins: string[];
  source: Source;
}

export interface AppChanges {
  name?: string;
  allowedOrigins?: string[];
}

/**
 * Persistence of tenants, apps, keys and tokens. Asynchronous so that a networked database fits
 * behind the same interface; the ingest path never calls it (it reads the in-memory cache).
 */
export interface RegistryStore {
  /** Increases on every change; replicas poll it to know when to reload their cache. */
  version(): Promise<number>;
  snapshot(): Promise<RegistrySnapshot>;

  listTenants(): Promise<Tenant[]>;
  getTenant(id: string): Promise<Tenant | undefined>;
  createTenant(tenant: NewTenant): Promise<Tenant>;
  updateTenant(id: string, changes: TenantChanges): Promise<Tenant | undefined>;
  deleteTenant(id: string): Promise<boolean>;

  listApps(tenantId?: string): Promise<App[]>;
  getApp(id: string): Promise<App | undefined>;
  createApp(app: NewApp): Promise<App>;
  updateApp(id: string, changes: AppChanges & { source?: Source }): Promise<App | undefined>;
  deleteApp(id: string): Promise<boolean>;

  listKeys(appId: string): Promise<AppKey[]>;
  findKey(key: string): Promise<AppKey | undefined>;
  addKey(key: AppKey): Promise<void>;
  /** Sets `expiresAt` on every key of the app that does not yet expire sooner, except `keep`. */
  expireKeys(appId: string, expiresAt: number, keep: string): Promise<void>;
  deleteKey(key: string): Promise<boolean>;

  addToken(token: AdminToken): Promise<void>;
  findTokenByHash(hash: string): Promise<AdminToken | undefined>;
  listTokens(): Promise<AdminToken[]>;

  /** Runs `work` atomically. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
