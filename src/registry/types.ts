/** Where a registry object came from: the declarative config file, the API/CLI, or the first-start demo. */
export type Source = 'config' | 'api' | 'demo';

/** A tenant's overrides of the global sink settings (validated by the config schema). */
export interface TenantSinks {
  loki?: Record<string, unknown>;
  traces?: Record<string, unknown>;
}

/** A token bucket: `perSecond` sustained, up to `burst` at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** Limits of a tenant or an app. Absent fields: the configured default applies (or none). */
export interface Limits {
  /** Requests per second, checked from the headers before the body is read. */
  requests?: RateLimit;
  /** Telemetry items per second (logs + exceptions + measurements + events + spans). */
  items?: RateLimit;
  /** Decoded body bytes per second. */
  bytes?: RateLimit;
  /** Items per second of one kind (`log`, `exception`, `measurement`, `event`, `span`). */
  kinds?: Partial<Record<'log' | 'exception' | 'measurement' | 'event' | 'span', RateLimit>>;
}

export interface Tenant {
  id: string;
  name: string;
  /** `X-Scope-OrgID` for its Loki and Tempo data; null: the tenant id. */
  orgId: string | null;
  sinks: TenantSinks;
  limits: Limits;
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
  /** Environments the app reports (`meta.app.environment`); empty: any. */
  environments: string[];
  /** Share of sessions kept, 0..1, decided per session (client side through /config, and at the gateway). */
  samplingRate: number;
  /** URLs (regular expressions) whose requests get a `traceparent` header from the browser. */
  tracePropagationUrls: string[];
  /** URLs (regular expressions) the browser SDK should not instrument. */
  ignoreUrls: string[];
  limits: Limits;
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
  /** `admin`, `tenant:<id>` (that tenant's admin), `sourcemaps:<app>` (upload maps of one app). */
  scopes: string[];
  createdAt: number;
  /** After this time the token is refused; null: no expiry. */
  expiresAt: number | null;
  /** Set when revoked; a revoked token is refused. */
  revokedAt: number | null;
}

/** One change made through the admin API or CLI: who, what, when, before and after. */
export interface AuditEntry {
  id: number;
  at: number;
  /** The token that made the change (its name and id), or `config` for reconciliation. */
  actor: string;
  /** `tenant.create`, `app.update`, `key.rotate`, `token.create`, `limits.update`… */
  action: string;
  /** What was changed: `tenant:acme`, `app:shop`, `token:k3j…`. */
  target: string;
  /** The tenant the change belongs to (for tenant admins reading their own log); null: global. */
  tenantId: string | null;
  before: unknown;
  after: unknown;
}

export interface AuditQuery {
  tenantId?: string | undefined;
  /** Only entries with a smaller id (pages go back in time). */
  beforeId?: number | undefined;
  limit: number;
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
  limits?: Limits;
  source: Source;
}

export interface TenantChanges {
  name?: string;
  orgId?: string | null;
  sinks?: TenantSinks;
  limits?: Limits;
  source?: Source;
}

/** The settings of an app besides its identity; all optional when creating (defaults apply). */
export interface AppSettings {
  name: string;
  allowedOrigins: string[];
  environments: string[];
  samplingRate: number;
  tracePropagationUrls: string[];
  ignoreUrls: string[];
  limits: Limits;
}

export const APP_DEFAULTS: Omit<AppSettings, 'name'> = {
  allowedOrigins: [],
  environments: [],
  samplingRate: 1,
  tracePropagationUrls: [],
  ignoreUrls: [],
  limits: {},
};

export interface NewApp extends Partial<Omit<AppSettings, 'name'>> {
  id: string;
  tenantId: string;
  name: string;
  source: Source;
}

/** The fields of `changes` that are set: an update leaves the others as they are. */
export function definedOnly<T extends object>(changes: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(changes).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** A new app as every store writes it: the defaults, then what was given. */
export function newAppRecord(input: NewApp, now: number): App {
  return {
    ...APP_DEFAULTS,
    ...definedOnly(input),
    id: input.id,
    tenantId: input.tenantId,
    name: input.name,
    source: input.source,
    createdAt: now,
    updatedAt: now,
  };
}

export type AppChanges = Partial<AppSettings>;

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
  getToken(id: string): Promise<AdminToken | undefined>;
  listTokens(): Promise<AdminToken[]>;
  /** Marks the token revoked at `at`; false when there is no such token. */
  revokeToken(id: string, at: number): Promise<boolean>;

  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  /** Newest first. */
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;

  /**
   * Calls `listener` soon after any change made by any process (PostgreSQL LISTEN/NOTIFY).
   * Absent when the store cannot push changes; the registry then polls `version()`.
   */
  subscribe?(listener: () => void): Promise<() => Promise<void>>;

  /** Runs `work` atomically. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
