import { AsyncLocalStorage } from 'node:async_hooks';
import Database from 'better-sqlite3';
import type {
  AdminToken,
  App,
  AppChanges,
  AppKey,
  NewApp,
  RegistrySnapshot,
  RegistryStore,
  Source,
  AuditEntry,
  Limits,
  Tenant,
  TenantSinks,
} from './types.js';
import { definedOnly, newAppRecord } from './types.js';

/** Versioned migrations; `PRAGMA user_version` records how many have run. Append only. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE registry_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
  INSERT INTO registry_version (id, version) VALUES (1, 0);
  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    allowed_origins TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX apps_by_tenant ON apps (tenant_id);
  CREATE TABLE app_keys (
    key TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
  );
  CREATE INDEX app_keys_by_app ON app_keys (app_id);
  CREATE TABLE admin_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
  `
  ALTER TABLE tenants ADD COLUMN org_id TEXT;
  ALTER TABLE tenants ADD COLUMN sinks TEXT NOT NULL DEFAULT '{}';
  `,
  `
  ALTER TABLE tenants ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE apps ADD COLUMN environments TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE apps ADD COLUMN sampling_rate REAL NOT NULL DEFAULT 1;
  ALTER TABLE apps ADD COLUMN trace_propagation_urls TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE apps ADD COLUMN ignore_urls TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE apps ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE admin_tokens ADD COLUMN expires_at INTEGER;
  ALTER TABLE admin_tokens ADD COLUMN revoked_at INTEGER;
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    tenant_id TEXT,
    before TEXT,
    after TEXT
  );
  CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, id);
  `,
];

interface TenantRow {
  id: string;
  name: string;
  org_id: string | null;
  sinks: string;
  limits: string;
  source: Source;
  created_at: number;
  updated_at: number;
}
interface AppRow {
  id: string;
  tenant_id: string;
  name: string;
  allowed_origins: string;
  environments: string;
  sampling_rate: number;
  trace_propagation_urls: string;
  ignore_urls: string;
  limits: string;
  source: Source;
  created_at: number;
  updated_at: number;
}
interface KeyRow {
  key: string;
  app_id: string;
  source: Source;
  created_at: number;
  expires_at: number | null;
}
interface TokenRow {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}
interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  tenant_id: string | null;
  before: string | null;
  after: string | null;
}

const toTenant = (row: TenantRow): Tenant => ({
  id: row.id,
  name: row.name,
  orgId: row.org_id,
  sinks: JSON.parse(row.sinks) as TenantSinks,
  limits: JSON.parse(row.limits) as Limits,
  source: row.source,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});
const toApp = (row: AppRow): App => ({
  id: row.id,
  tenantId: row.tenant_id,
  name: row.name,
  allowedOrigins: JSON.parse(row.allowed_origins) as string[],
  environments: JSON.parse(row.environments) as string[],
  samplingRate: row.sampling_rate,
  tracePropagationUrls: JSON.parse(row.trace_propagation_urls) as string[],
  ignoreUrls: JSON.parse(row.ignore_urls) as string[],
  limits: JSON.parse(row.limits) as Limits,
  source: row.source,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});
const toKey = (row: KeyRow): AppKey => ({
  key: row.key,
  appId: row.app_id,
  source: row.source,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});
const toToken = (row: TokenRow): AdminToken => ({
  id: row.id,
  name: row.name,
  hash: row.hash,
  scopes: JSON.parse(row.scopes) as string[],
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});
const toAudit = (row: AuditRow): AuditEntry => ({
  id: row.id,
  at: row.at,
  actor: row.actor,
  action: row.action,
  target: row.target,
  tenantId: row.tenant_id,
  before: row.before === null ? null : (JSON.parse(row.before) as unknown),
  after: row.after === null ? null : (JSON.parse(row.after) as unknown),
});

/** The registry in a SQLite file (the embedded default). WAL lets the CLI read while Pharos runs. */
export function openSqliteRegistry(file: string, clock: () => number = Date.now): RegistryStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);

  const bump = db.prepare('UPDATE registry_version SET version = version + 1 WHERE id = 1');
  const changed = <T>(result: T): T => {
    bump.run();
    return result;
  };
  // Transactions are serialised; work inside one (same async context) runs straight through.
  const inTransaction = new AsyncLocalStorage<true>();
  let queue: Promise<unknown> = Promise.resolve();

  const store: RegistryStore = {
    version: () =>
      Promise.resolve(
        (db.prepare('SELECT version FROM registry_version').get() as { version: number }).version,
      ),

    snapshot: () =>
      Promise.resolve(
        db.transaction((): RegistrySnapshot => ({
          version: (db.prepare('SELECT version FROM registry_version').get() as { version: number })
            .version,
          tenants: (db.prepare('SELECT * FROM tenants ORDER BY id').all() as TenantRow[]).map(
            toTenant,
          ),
          apps: (db.prepare('SELECT * FROM apps ORDER BY id').all() as AppRow[]).map(toApp),
          keys: (
            db.prepare('SELECT * FROM app_keys ORDER BY created_at, rowid').all() as KeyRow[]
          ).map(toKey),
        }))(),
      ),

    listTenants: () =>
      Promise.resolve(
        (db.prepare('SELECT * FROM tenants ORDER BY id').all() as TenantRow[]).map(toTenant),
      ),
    getTenant: (id) => {
      const row = db.prepare('SELECT * FROM tenants WHERE id = ?').get(id) as TenantRow | undefined;
      return Promise.resolve(row && toTenant(row));
    },
    createTenant: ({ id, name, source, orgId = null, sinks = {}, limits = {} }) => {
      const now = clock();
      db.prepare(
        'INSERT INTO tenants (id, name, org_id, sinks, limits, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(id, name, orgId, JSON.stringify(sinks), JSON.stringify(limits), source, now, now);
      return Promise.resolve(
        changed({ id, name, orgId, sinks, limits, source, createdAt: now, updatedAt: now }),
      );
    },
    updateTenant: async (id, changes) => {
      const current = await store.getTenant(id);
      if (!current) return undefined;
      const next = { ...current, ...definedOnly(changes), updatedAt: clock() };
      db.prepare(
        'UPDATE tenants SET name = ?, org_id = ?, sinks = ?, limits = ?, source = ?, updated_at = ? WHERE id = ?',
      ).run(
        next.name,
        next.orgId,
        JSON.stringify(next.sinks),
        JSON.stringify(next.limits),
        next.source,
        next.updatedAt,
        id,
      );
      return changed(next);
    },
    deleteTenant: (id) => {
      const { changes } = db.prepare('DELETE FROM tenants WHERE id = ?').run(id);
      return Promise.resolve(changes > 0 ? changed(true) : false);
    },

    listApps: (tenantId) =>
      Promise.resolve(
        (tenantId === undefined
          ? (db.prepare('SELECT * FROM apps ORDER BY id').all() as AppRow[])
          : (db
              .prepare('SELECT * FROM apps WHERE tenant_id = ? ORDER BY id')
              .all(tenantId) as AppRow[])
        ).map(toApp),
      ),
    getApp: (id) => {
      const row = db.prepare('SELECT * FROM apps WHERE id = ?').get(id) as AppRow | undefined;
      return Promise.resolve(row && toApp(row));
    },
    createApp: (input: NewApp) => {
      const now = clock();
      const app: App = newAppRecord(input, now);
      db.prepare(
        `INSERT INTO apps (id, tenant_id, name, allowed_origins, environments, sampling_rate, trace_propagation_urls,
           ignore_urls, limits, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(...appColumns(app), app.source, now, now);
      return Promise.resolve(changed(app));
    },
    updateApp: async (id, changes: AppChanges & { source?: Source }) => {
      const current = await store.getApp(id);
      if (!current) return undefined;
      const next: App = { ...current, ...definedOnly(changes), updatedAt: clock() };
      db.prepare(
        `UPDATE apps SET tenant_id = ?, name = ?, allowed_origins = ?, environments = ?, sampling_rate = ?,
           trace_propagation_urls = ?, ignore_urls = ?, limits = ?, source = ?, updated_at = ? WHERE id = ?`,
      ).run(...appColumns(next).slice(1), next.source, next.updatedAt, id);
      return changed(next);
    },
    deleteApp: (id) => {
      const { changes } = db.prepare('DELETE FROM apps WHERE id = ?').run(id);
      return Promise.resolve(changes > 0 ? changed(true) : false);
    },

    listKeys: (appId) =>
      Promise.resolve(
        (
          db
            .prepare('SELECT * FROM app_keys WHERE app_id = ? ORDER BY created_at, rowid')
            .all(appId) as KeyRow[]
        ).map(toKey),
      ),
    findKey: (key) => {
      const row = db.prepare('SELECT * FROM app_keys WHERE key = ?').get(key) as KeyRow | undefined;
      return Promise.resolve(row && toKey(row));
    },
    addKey: (key) => {
      db.prepare(
        'INSERT INTO app_keys (key, app_id, source, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      ).run(key.key, key.appId, key.source, key.createdAt, key.expiresAt);
      return Promise.resolve(changed(undefined));
    },
    expireKeys: (appId, expiresAt, keep) => {
      db.prepare(
        'UPDATE app_keys SET expires_at = ? WHERE app_id = ? AND key <> ? AND (expires_at IS NULL OR expires_at > ?)',
      ).run(expiresAt, appId, keep, expiresAt);
      return Promise.resolve(changed(undefined));
    },
    deleteKey: (key) => {
      const { changes } = db.prepare('DELETE FROM app_keys WHERE key = ?').run(key);
      return Promise.resolve(changes > 0 ? changed(true) : false);
    },

    addToken: (token) => {
      db.prepare(
        'INSERT INTO admin_tokens (id, name, hash, scopes, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(
        token.id,
        token.name,
        token.hash,
        JSON.stringify(token.scopes),
        token.createdAt,
        token.expiresAt,
        token.revokedAt,
      );
      return Promise.resolve();
    },
    findTokenByHash: (hash) => {
      const row = db.prepare('SELECT * FROM admin_tokens WHERE hash = ?').get(hash) as
        TokenRow | undefined;
      return Promise.resolve(row && toToken(row));
    },
    getToken: (id) => {
      const row = db.prepare('SELECT * FROM admin_tokens WHERE id = ?').get(id) as
        TokenRow | undefined;
      return Promise.resolve(row && toToken(row));
    },
    listTokens: () =>
      Promise.resolve(
        (db.prepare('SELECT * FROM admin_tokens ORDER BY created_at, id').all() as TokenRow[]).map(
          toToken,
        ),
      ),
    revokeToken: (id, at) => {
      const { changes } = db
        .prepare('UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(at, id);
      return Promise.resolve(
        changes > 0 || Boolean(db.prepare('SELECT 1 FROM admin_tokens WHERE id = ?').get(id)),
      );
    },

    appendAudit: (entry) => {
      db.prepare(
        'INSERT INTO audit_log (at, actor, action, target, tenant_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(
        entry.at,
        entry.actor,
        entry.action,
        entry.target,
        entry.tenantId,
        entry.before === undefined || entry.before === null ? null : JSON.stringify(entry.before),
        entry.after === undefined || entry.after === null ? null : JSON.stringify(entry.after),
      );
      return Promise.resolve();
    },
    listAudit: ({ tenantId, beforeId, limit }) => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (tenantId !== undefined) {
        where.push('tenant_id = ?');
        params.push(tenantId);
      }
      if (beforeId !== undefined) {
        where.push('id < ?');
        params.push(beforeId);
      }
      const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return Promise.resolve((db.prepare(sql).all(...params, limit) as AuditRow[]).map(toAudit));
    },

    transaction: (work) => {
      if (inTransaction.getStore()) return work();
      const run = async () => {
        // BEGIN IMMEDIATE takes the write lock now, so a CLI process writing at the same
        // time waits (busy_timeout) instead of failing half-way.
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await inTransaction.run(true, work);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          db.exec('ROLLBACK');
          throw error;
        } finally {
          // A live AsyncLocalStorage keeps Node's promise hooks on for every promise of the
          // process, a few µs on each ingest request (docs/performance.md). Transactions run one
          // at a time here, so none is left in it now.
          inTransaction.disable();
        }
      };
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
  return store;
}

function migrate(db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  for (let index = applied; index < MIGRATIONS.length; index++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[index] as string);
      db.pragma(`user_version = ${index + 1}`);
    })();
  }
}

/** The app's columns from `id` to `limits`, in table order. */
function appColumns(
  app: App,
): [string, string, string, string, string, number, string, string, string] {
  return [
    app.id,
    app.tenantId,
    app.name,
    JSON.stringify(app.allowedOrigins),
    JSON.stringify(app.environments),
    app.samplingRate,
    JSON.stringify(app.tracePropagationUrls),
    JSON.stringify(app.ignoreUrls),
    JSON.stringify(app.limits),
  ];
}
