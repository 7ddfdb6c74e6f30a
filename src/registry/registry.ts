import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema, LimitsSchema } from '../config/schema.js';
import { PharosError } from '../errors/index.js';
import { isSlug, randomToken } from '../lib/ids.js';
import { AppCompactor } from './compact.js';
import { followRegistryChanges, type ChangeFollower } from './follow.js';
import type {
  AdminToken,
  App,
  AppChanges,
  AppKey,
  AuditEntry,
  Limits,
  RegistrySnapshot,
  RegistryStore,
  Source,
  Tenant,
  TenantSinks,
} from './types.js';

/** What an app key resolves to on the hot path. */
export interface ResolvedKey {
  readonly app: App;
  readonly tenant: Tenant;
  readonly expiresAt: number | null;
}

export interface CreateAppInput extends Partial<Omit<AppChanges, 'name'>> {
  id?: string | undefined;
  tenantId: string;
  name: string;
  source?: Source;
}

export interface CreateTenantInput {
  id: string;
  name?: string | undefined;
  orgId?: string | null | undefined;
  sinks?: TenantSinks | undefined;
  limits?: Limits | undefined;
  source?: Source;
}

export interface UpdateTenantInput {
  name?: string | undefined;
  orgId?: string | null | undefined;
  sinks?: TenantSinks | undefined;
  limits?: Limits | undefined;
}

/** Who made a change, as the audit log names it. */
export interface Actor {
  /** The token's name (`ci`, `local admin (admin-token file)`), or `system`, `admin.token`. */
  name: string;
  /** The token's id; null for the configured `admin.token` and for Pharos itself. */
  tokenId: string | null;
}

/** Changes Pharos makes by itself (first start, the admin-token file). */
export const SYSTEM_ACTOR: Actor = { name: 'system', tokenId: null };

/** The audit log's `actor`: `ci (token k3J9…)`; never anything secret. */
export function actorLabel(actor: Actor): string {
  return actor.tokenId === null ? actor.name : `${actor.name} (token ${actor.tokenId})`;
}

/** What a deletion took with it, for the answer and the audit log. */
export interface DeletedTenant {
  tenant: Tenant;
  apps: App[];
  revokedTokens: AdminToken[];
}

export interface DeletedApp {
  app: App;
  revokedTokens: AdminToken[];
}

export interface RegistryOptions {
  clock?: () => number;
  /** Called after every cache reload, with the number of apps (for metrics). */
  /** Awaited by `refresh`, so a change made through this registry is in effect when the call returns. */
  onReload?: (snapshot: RegistrySnapshot) => void | Promise<void>;
}

/** App keys start with this, so that they are recognisable in configs and logs. */
export const APP_KEY_PREFIX = 'pk_';

/** Admin tokens start with this, so that secret scanners and people recognise them. */
export const TOKEN_PREFIX = 'pha_';

/** `admin`, `tenant:<tenant id>`, `sourcemaps:<app id>`. */
const SCOPE = /^(?:admin|(?:tenant|sourcemaps):[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)$/;

/** The tenant sink overrides as the config file declares them: the API must accept the same. */
const TenantSinksSchema = ConfigSchema.properties.tenants.items.properties.sinks;

export function newAppKey(): string {
  // Only [A-Za-z0-9_]: the Faro SDK's default ignore pattern for its own collector URL is /\/collect(?:\/[\w]*)?$/.
  return `${APP_KEY_PREFIX}${randomToken(32)}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A token as it may be shown and logged: everything but its hash. */
export type TokenInfo = Omit<AdminToken, 'hash'>;

export function tokenInfo({ hash: _hash, ...info }: AdminToken): TokenInfo {
  return info;
}

/** Keys are public, but logs and the audit log need not repeat them whole. */
export function maskKey(key: string): string {
  return key.length <= 10 ? key : `${key.slice(0, 6)}…${key.slice(-4)}`;
}

/**
 * A tenant as the audit log (and a tenant admin) may see it: sink header values (Loki and OTLP
 * credentials) replaced, names kept so that a change of header is still visible.
 */
export function redactTenant(tenant: Tenant): Tenant {
  return { ...tenant, sinks: redactSinks(tenant.sinks) };
}

export const REDACTED = '[redacted]';

function redactSinks(sinks: TenantSinks): TenantSinks {
  const redacted: TenantSinks = {};
  for (const [name, settings] of Object.entries(sinks) as [keyof TenantSinks, unknown][]) {
    if (settings === undefined || settings === null || typeof settings !== 'object') continue;
    const copy = { ...(settings as Record<string, unknown>) };
    if (copy.headers !== null && typeof copy.headers === 'object') {
      copy.headers = Object.fromEntries(
        Object.keys(copy.headers as Record<string, unknown>).map((header) => [header, REDACTED]),
      );
    }
    redacted[name] = copy;
  }
  return redacted;
}

/**
 * The registry: an in-memory cache that the ingest path reads synchronously, in front of a
 * store that holds the truth. Every change goes through the store and then reloads the cache;
 * changes made by other processes (the CLI, other replicas) are pushed by the store when it can
 * (PostgreSQL LISTEN/NOTIFY) and found by polling the store's version otherwise.
 */
export class Registry {
  readonly store: RegistryStore;
  /** The registry's time (tests move it); token expiry and key grace are measured with it. */
  readonly clock: () => number;
  private readonly onReload: ((snapshot: RegistrySnapshot) => void | Promise<void>) | undefined;
  private byKey = new Map<string, ResolvedKey>();
  private apps = new Map<string, App>();
  private tenants = new Map<string, Tenant>();
  private loadedVersion = -1;
  private poller: NodeJS.Timeout | undefined;
  private follower: ChangeFollower | undefined;
  /** The refresh in progress: refreshes run one after another (see `refresh`). */
  private refreshing: Promise<void> = Promise.resolve();

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

  /**
   * Reloads the cache when the store changed since the last load (or always, with `force`).
   * Refreshes run one after another: two at once (a change made here, and a notification of it)
   * could otherwise finish out of order and leave the older snapshot in place.
   */
  refresh(force = false): Promise<void> {
    const next = this.refreshing.then(() => this.load(force));
    this.refreshing = next.catch(() => undefined);
    return next;
  }

  private async load(force: boolean): Promise<void> {
    if (!force && (await this.store.version()) === this.loadedVersion) return;
    const snapshot = await this.store.snapshot();
    const tenants = new Map(snapshot.tenants.map((tenant) => [tenant.id, tenant]));
    // The cache keeps every app for the life of the process: equal parts are shared.
    const compactor = new AppCompactor();
    const apps = new Map(
      snapshot.apps.map((app) => [app.id, compactor.compact(app, tenants.get(app.tenantId))]),
    );
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

  /**
   * Keeps the cache in step with changes made elsewhere: on every notification when the store
   * pushes them (PostgreSQL), with a poll every ten intervals as a safety net; by polling every
   * `intervalMs` otherwise (SQLite), or when subscribing fails. Returns how changes arrive.
   */
  async startFollowing(
    intervalMs: number,
    onError: (error: unknown) => void,
  ): Promise<ChangeFollower['mode']> {
    await this.stopFollowing();
    this.follower = await followRegistryChanges(this, { pollIntervalMs: intervalMs, onError });
    return this.follower.mode;
  }

  async stopFollowing(): Promise<void> {
    const follower = this.follower;
    this.follower = undefined;
    await follower?.stop();
  }

  // --- changes (admin API, CLI, first start) ---
  //
  // Each change runs in one store transaction together with its audit entry, so the log holds
  // exactly the changes that happened. `actor` names who made it; secrets never reach the log.

  async createTenant(input: CreateTenantInput, actor: Actor = SYSTEM_ACTOR): Promise<Tenant> {
    assertId(input.id, 'tenant id');
    const name = input.name ?? input.id;
    assertName(name, 'tenant name');
    assertTenantSettings(input);
    return this.change(actor, async (audit) => {
      if (await this.store.getTenant(input.id)) {
        throw new PharosError('CONFLICT', `tenant ${input.id} already exists`);
      }
      const created = await this.store.createTenant({
        id: input.id,
        name,
        orgId: input.orgId ?? null,
        sinks: input.sinks ?? {},
        limits: input.limits ?? {},
        source: input.source ?? 'api',
      });
      await audit('tenant.create', `tenant:${created.id}`, created.id, null, redactTenant(created));
      return created;
    });
  }

  /** Changes a tenant's name, `X-Scope-OrgID`, sink overrides or limits (each given one replaced whole). */
  updateTenant(
    id: string,
    changes: UpdateTenantInput,
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<Tenant> {
    return this.changeTenant(id, changes, actor, 'tenant.update');
  }

  /** Replaces a tenant's own limits (`{}`: the configured defaults apply). */
  setTenantLimits(id: string, limits: Limits, actor: Actor = SYSTEM_ACTOR): Promise<Tenant> {
    return this.changeTenant(id, { limits }, actor, 'limits.update');
  }

  private async changeTenant(
    id: string,
    changes: UpdateTenantInput,
    actor: Actor,
    action: string,
  ): Promise<Tenant> {
    if (changes.name !== undefined) assertName(changes.name, 'tenant name');
    assertTenantSettings(changes);
    return this.change(actor, async (audit) => {
      const before = await this.requireEditableTenant(id, 'change it there');
      const updated = (await this.store.updateTenant(id, {
        name: changes.name,
        orgId: changes.orgId,
        sinks: changes.sinks,
        limits: changes.limits,
      })) as Tenant;
      await audit(action, `tenant:${id}`, id, redactTenant(before), redactTenant(updated));
      return updated;
    });
  }

  /**
   * Deletes a tenant. With apps, only when `cascade` says so: they go with it, with their keys.
   * Tokens scoped to the tenant or to one of its apps are revoked, so that a tenant created later
   * with the same id does not inherit them.
   */
  async deleteTenant(
    id: string,
    options: { cascade?: boolean } = {},
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<DeletedTenant> {
    return this.change(actor, async (audit) => {
      const tenant = await this.requireEditableTenant(id, 'remove it there');
      const apps = await this.store.listApps(id);
      if (apps.length > 0 && options.cascade !== true) {
        throw new PharosError(
          'CONFLICT',
          `tenant ${id} still has ${apps.length} app(s) (${apps.map((app) => app.id).join(', ')}); delete them first or ask for a cascade`,
        );
      }
      const configApp = apps.find((app) => app.source === 'config');
      if (configApp) {
        throw new PharosError(
          'CONFLICT',
          `app ${configApp.id} of tenant ${id} is managed by the config file; remove it there`,
        );
      }
      const appIds = new Set(apps.map((app) => app.id));
      const revokedTokens = await this.revokeTokensWhere(
        (scope) =>
          scope === `tenant:${id}` ||
          (scope.startsWith('sourcemaps:') && appIds.has(scope.slice('sourcemaps:'.length))),
        id,
        audit,
      );
      for (const app of apps) await audit('app.delete', `app:${app.id}`, id, app, null);
      // The store cascades to the apps and their keys.
      await this.store.deleteTenant(id);
      await audit('tenant.delete', `tenant:${id}`, id, redactTenant(tenant), null);
      return { tenant, apps, revokedTokens };
    });
  }

  /** Creates an app with a first key; returns both (the key is the one to put in the Faro config). */
  async createApp(
    input: CreateAppInput,
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<{ app: App; key: AppKey }> {
    const id = input.id ?? input.name;
    assertId(id, 'app id');
    assertName(input.name, 'app name');
    const settings = checkAppSettings(input);
    return this.change(actor, async (audit) => {
      if (!(await this.store.getTenant(input.tenantId))) {
        throw new PharosError('NOT_FOUND', `tenant ${input.tenantId} does not exist`);
      }
      if (await this.store.getApp(id))
        throw new PharosError('CONFLICT', `app ${id} already exists`);
      const source = input.source ?? 'api';
      const app = await this.store.createApp({
        ...settings,
        id,
        tenantId: input.tenantId,
        name: input.name,
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
      await audit('app.create', `app:${id}`, app.tenantId, null, { ...app, key: maskKey(key.key) });
      return { app, key };
    });
  }

  /** Changes an app's settings; each one given replaces the current value whole. */
  updateApp(id: string, changes: AppChanges, actor: Actor = SYSTEM_ACTOR): Promise<App> {
    return this.changeApp(id, changes, actor, 'app.update');
  }

  /** Replaces an app's own limits (`{}`: its tenant's and the configured defaults apply). */
  setAppLimits(id: string, limits: Limits, actor: Actor = SYSTEM_ACTOR): Promise<App> {
    return this.changeApp(id, { limits }, actor, 'limits.update');
  }

  private async changeApp(
    id: string,
    changes: AppChanges,
    actor: Actor,
    action: string,
  ): Promise<App> {
    if (changes.name !== undefined) assertName(changes.name, 'app name');
    const settings = checkAppSettings(changes);
    return this.change(actor, async (audit) => {
      const before = await this.requireEditableApp(id, 'change it there');
      const updated = (await this.store.updateApp(id, {
        ...settings,
        name: changes.name,
      })) as App;
      await audit(action, `app:${id}`, before.tenantId, before, updated);
      return updated;
    });
  }

  /** Deletes an app and its keys; tokens scoped to its source maps are revoked. */
  async deleteApp(id: string, actor: Actor = SYSTEM_ACTOR): Promise<DeletedApp> {
    return this.change(actor, async (audit) => {
      const app = await this.requireEditableApp(id, 'remove it there');
      const revokedTokens = await this.revokeTokensWhere(
        (scope) => scope === `sourcemaps:${id}`,
        app.tenantId,
        audit,
      );
      await this.store.deleteApp(id);
      await audit('app.delete', `app:${id}`, app.tenantId, app, null);
      return { app, revokedTokens };
    });
  }

  /**
   * Issues a new key for an app. The app's other keys stay valid for `graceMs` (so pages still
   * running the old snippet keep sending), then are refused.
   */
  async rotateKey(
    appId: string,
    graceMs: number,
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<{ key: AppKey; previousKeysExpireAt: number }> {
    return this.change(actor, async (audit) => {
      const app = await this.requireEditableApp(appId, 'change its keys there');
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
      await audit('key.rotate', `app:${appId}`, app.tenantId, null, {
        key: maskKey(key.key),
        previousKeysExpireAt: now + graceMs,
      });
      return { key, previousKeysExpireAt: now + graceMs };
    });
  }

  /** Revokes one key of an app at once (a leaked key, say): it is refused from now on. */
  async revokeKey(appId: string, key: string, actor: Actor = SYSTEM_ACTOR): Promise<AppKey> {
    return this.change(actor, async (audit) => {
      const app = await this.requireEditableApp(appId, 'change its keys there');
      const found = await this.store.findKey(key);
      if (!found || found.appId !== appId) {
        throw new PharosError('NOT_FOUND', `app ${appId} has no key ${maskKey(key)}`);
      }
      await this.store.deleteKey(key);
      await audit(
        'key.revoke',
        `app:${appId}`,
        app.tenantId,
        { key: maskKey(found.key), createdAt: found.createdAt, expiresAt: found.expiresAt },
        null,
      );
      return found;
    });
  }

  /**
   * Issues an admin token; returns the token itself, which is never stored (only its hash).
   * Scopes are checked for form here; whether the caller may grant them is the API's business.
   */
  async createToken(
    name: string,
    scopes: string[],
    options: { expiresAt?: number | null; actor?: Actor } = {},
  ): Promise<{ token: string; record: AdminToken }> {
    assertName(name, 'token name');
    if (scopes.length === 0) throw new PharosError('INVALID_REQUEST', 'a token needs a scope');
    for (const scope of scopes) {
      if (!SCOPE.test(scope)) {
        throw new PharosError(
          'INVALID_REQUEST',
          `scope ${JSON.stringify(scope)} is not admin, tenant:<tenant id> or sourcemaps:<app id>`,
        );
      }
    }
    const expiresAt = options.expiresAt ?? null;
    if (expiresAt !== null && !(expiresAt > this.clock())) {
      throw new PharosError('INVALID_REQUEST', 'the token would expire before it is issued');
    }
    const token = `${TOKEN_PREFIX}${randomToken(40)}`;
    const record: AdminToken = {
      id: randomToken(12),
      name,
      hash: hashToken(token),
      scopes: [...new Set(scopes)],
      createdAt: this.clock(),
      expiresAt,
      revokedAt: null,
    };
    await this.change(options.actor ?? SYSTEM_ACTOR, async (audit) => {
      await this.store.addToken(record);
      const tenantId = await this.tenantOfScopes(record.scopes);
      await audit('token.create', `token:${record.id}`, tenantId, null, tokenInfo(record));
    });
    return { token, record };
  }

  /** Revokes a token: it is refused from now on. Revoking it again changes nothing. */
  async revokeToken(id: string, actor: Actor = SYSTEM_ACTOR): Promise<AdminToken> {
    return this.change(actor, async (audit) => {
      const before = await this.store.getToken(id);
      if (!before) throw new PharosError('NOT_FOUND', `token ${id} does not exist`);
      if (before.revokedAt !== null) return before;
      const at = this.clock();
      await this.store.revokeToken(id, at);
      const after: AdminToken = { ...before, revokedAt: at };
      const tenantId = await this.tenantOfScopes(before.scopes);
      await audit('token.revoke', `token:${id}`, tenantId, tokenInfo(before), tokenInfo(after));
      return after;
    });
  }

  /** The record of a token that is valid now (not revoked, not expired). */
  async findToken(token: string): Promise<AdminToken | undefined> {
    const record = await this.store.findTokenByHash(hashToken(token));
    if (!record || record.revokedAt !== null) return undefined;
    if (record.expiresAt !== null && record.expiresAt <= this.clock()) return undefined;
    return record;
  }

  /**
   * The one tenant every scope of a token belongs to (`tenant:<id>`, or `sourcemaps:<app>` of an
   * app of that tenant); null for `admin`, several tenants, or apps that no longer exist.
   */
  async tenantOfScopes(scopes: readonly string[]): Promise<string | null> {
    const tenants = new Set<string>();
    for (const scope of scopes) {
      if (scope.startsWith('tenant:')) tenants.add(scope.slice('tenant:'.length));
      else if (scope.startsWith('sourcemaps:')) {
        const app = await this.store.getApp(scope.slice('sourcemaps:'.length));
        if (!app) return null;
        tenants.add(app.tenantId);
      } else return null;
    }
    return tenants.size === 1 ? ([...tenants][0] as string) : null;
  }

  // --- helpers of the changes ---

  /**
   * Runs `work` in one store transaction with an `audit` function that appends to the log in the
   * same transaction, then reloads the cache so the change is in effect when this returns.
   */
  private async change<T>(actor: Actor, work: (audit: AuditWriter) => Promise<T>): Promise<T> {
    const result = await this.store.transaction(() =>
      work((action, target, tenantId, before, after) =>
        this.store.appendAudit({
          at: this.clock(),
          actor: actorLabel(actor),
          action,
          target,
          tenantId,
          before,
          after,
        }),
      ),
    );
    await this.refresh(true);
    return result;
  }

  private async requireEditableTenant(id: string, advice: string): Promise<Tenant> {
    const tenant = await this.store.getTenant(id);
    if (!tenant) throw new PharosError('NOT_FOUND', `tenant ${id} does not exist`);
    if (tenant.source === 'config') {
      throw new PharosError('CONFLICT', `tenant ${id} is managed by the config file; ${advice}`);
    }
    return tenant;
  }

  private async requireEditableApp(id: string, advice: string): Promise<App> {
    const app = await this.store.getApp(id);
    if (!app) throw new PharosError('NOT_FOUND', `app ${id} does not exist`);
    if (app.source === 'config') {
      throw new PharosError('CONFLICT', `app ${id} is managed by the config file; ${advice}`);
    }
    return app;
  }

  /** Revokes (inside the caller's transaction) every live token with a scope `matches` accepts. */
  private async revokeTokensWhere(
    matches: (scope: string) => boolean,
    tenantId: string,
    audit: AuditWriter,
  ): Promise<AdminToken[]> {
    const revoked: AdminToken[] = [];
    const at = this.clock();
    for (const token of await this.store.listTokens()) {
      if (token.revokedAt !== null || !token.scopes.some(matches)) continue;
      await this.store.revokeToken(token.id, at);
      const after = { ...token, revokedAt: at };
      await audit(
        'token.revoke',
        `token:${token.id}`,
        tenantId,
        tokenInfo(token),
        tokenInfo(after),
      );
      revoked.push(after);
    }
    return revoked;
  }
}

type AuditWriter = (
  action: string,
  target: string,
  tenantId: string | null,
  before: AuditEntry['before'],
  after: AuditEntry['after'],
) => Promise<void>;

function assertName(name: string, what: string): void {
  if (name.trim() === '' || name.length > 200) {
    throw new PharosError('INVALID_REQUEST', `${what} must be 1–200 characters`);
  }
}

function assertTenantSettings(settings: UpdateTenantInput): void {
  if (settings.orgId !== undefined && settings.orgId !== null && settings.orgId.trim() === '') {
    throw new PharosError('INVALID_REQUEST', 'orgId must not be empty (null: the tenant id)');
  }
  if (settings.sinks !== undefined) assertSchema(TenantSinksSchema, settings.sinks, 'sinks');
  if (settings.limits !== undefined) assertSchema(LimitsSchema, settings.limits, 'limits');
}

/**
 * Checks and normalises the settings of an app that are given: origins normalised, sampling in
 * 0..1, URL patterns that compile, limits of the config file's shape.
 */
function checkAppSettings(settings: Partial<AppChanges>): Partial<AppChanges> {
  const checked: Partial<AppChanges> = {};
  if (settings.allowedOrigins !== undefined)
    checked.allowedOrigins = normaliseOrigins(settings.allowedOrigins);
  if (settings.environments !== undefined) {
    for (const environment of settings.environments) {
      if (environment.trim() === '' || environment.length > 100)
        throw new PharosError('INVALID_REQUEST', 'environments must be 1–100 characters each');
    }
    checked.environments = [...new Set(settings.environments)];
  }
  if (settings.samplingRate !== undefined) {
    const rate = settings.samplingRate;
    if (!Number.isFinite(rate) || rate < 0 || rate > 1)
      throw new PharosError('INVALID_REQUEST', `samplingRate ${rate} must be between 0 and 1`);
    checked.samplingRate = rate;
  }
  if (settings.tracePropagationUrls !== undefined)
    checked.tracePropagationUrls = checkPatterns(
      settings.tracePropagationUrls,
      'tracePropagationUrls',
    );
  if (settings.ignoreUrls !== undefined)
    checked.ignoreUrls = checkPatterns(settings.ignoreUrls, 'ignoreUrls');
  if (settings.limits !== undefined) {
    assertSchema(LimitsSchema, settings.limits, 'limits');
    checked.limits = settings.limits;
  }
  return checked;
}

/** URL patterns are regular expressions the browser SDK compiles: refuse what it could not. */
function checkPatterns(patterns: readonly string[], what: string): string[] {
  return patterns.map((pattern) => {
    try {
      new RegExp(pattern);
    } catch (error) {
      throw new PharosError(
        'INVALID_REQUEST',
        `${what}: ${JSON.stringify(pattern)} is not a regular expression (${(error as Error).message})`,
      );
    }
    return pattern;
  });
}

function assertSchema(schema: Parameters<typeof Value.Check>[0], value: unknown, what: string) {
  const error = Value.Errors(schema, value).First();
  if (error) {
    throw new PharosError(
      'INVALID_REQUEST',
      `${what}${error.path.replaceAll('/', '.')}: ${error.message}`,
    );
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
