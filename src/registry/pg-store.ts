import { PharosError } from '../errors/index.js';
import {
  DEFAULT_SCHEMA,
  PgDatabase,
  fromBigint,
  quoteSchema,
  type PgLogger,
} from './pg-database.js';
import { ChannelListener, type ReconnectOptions } from './pg-listener.js';
import { openMigratedPool } from './pg-migrate.js';
import { REGISTRY_MIGRATIONS } from './pg-registry-migrations.js';
import {
  json,
  toApp,
  toAudit,
  toKey,
  toTenant,
  toToken,
  type AppRow,
  type AuditRow,
  type KeyRow,
  type TenantRow,
  type TokenRow,
} from './pg-rows.js';
import type { App, AppChanges, NewApp, RegistryStore, Source, Tenant } from './types.js';
import { definedOnly, newAppRecord } from './types.js';

export interface PostgresRegistryOptions {
  /** Times of `createdAt`/`updatedAt` (tests move it). */
  clock?: () => number;
  /** Schema holding the tables (created if missing); default `public`. Tests use a throwaway one. */
  schema?: string;
  logger?: PgLogger;
  /** Connections in the pool (default 10), besides the one that LISTENs. */
  poolSize?: number;
  /** Backoff of the LISTEN connection when it is lost (default 100 ms doubling to 5 s). */
  reconnect?: ReconnectOptions;
}

/** The NOTIFY channel of a schema's registry: one per schema, so deployments sharing a database do not wake each other. */
export function registryChannel(schema: string = DEFAULT_SCHEMA): string {
  return `pharos_registry_${schema}`;
}

/** `application_name` of the connection that LISTENs (find it in `pg_stat_activity`). */
export function listenerApplicationName(schema: string = DEFAULT_SCHEMA): string {
  return `pharos-listen:${schema}`;
}

/**
 * The registry in PostgreSQL, shared by every replica. Same tables and semantics as the SQLite
 * store: every change to tenants, apps or keys bumps the version counter in its own transaction,
 * and also sends a NOTIFY there, which PostgreSQL delivers on commit (and never for a rolled-back
 * change). Writers are serialised across replicas by an advisory lock, as SQLite's single writer
 * is; readers never wait.
 *
 * Runs the migrations before returning; safe when several replicas start at once.
 */
export async function openPostgresRegistry(
  url: string,
  options: PostgresRegistryOptions = {},
): Promise<RegistryStore> {
  const clock = options.clock ?? Date.now;
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const s = quoteSchema(schema);
  const channel = registryChannel(schema);
  const pool = await openMigratedPool(
    url,
    {
      applicationName: `pharos-registry:${schema}`,
      max: options.poolSize ?? 10,
      logger: options.logger,
    },
    { schema, component: 'registry', migrations: REGISTRY_MIGRATIONS },
  );
  const db = new PgDatabase(pool, { writeLock: `pharos:registry-write:${schema}` });

  /** Bumps the version and queues the notification, both part of the current transaction. */
  const bump = () =>
    db.query(
      `WITH bumped AS (UPDATE ${s}.registry_version SET version = version + 1 WHERE id = 1 RETURNING version)
       SELECT pg_notify($1, '') FROM bumped`,
      // An empty payload: PostgreSQL folds identical notifications of one transaction into one.
      [channel],
    );

  /** Inserts one row; a duplicate is a CONFLICT without aborting the surrounding transaction. */
  const insertOnce = async (sql: string, params: readonly unknown[], what: string) => {
    if ((await db.change(`${sql} ON CONFLICT DO NOTHING`, params)) === 0) {
      throw new PharosError('CONFLICT', `${what} already exists`);
    }
  };

  let listener: Promise<ChannelListener> | undefined;
  const startListener = async (): Promise<ChannelListener> => {
    const channelListener = new ChannelListener({
      url,
      channel,
      applicationName: listenerApplicationName(schema),
      reconnect: options.reconnect,
      logger: options.logger,
    });
    await channelListener.start();
    return channelListener;
  };
  let closing: Promise<void> | undefined;

  const store: RegistryStore = {
    version: async () => {
      const [row] = await db.query<{ version: string }>(
        `SELECT version FROM ${s}.registry_version WHERE id = 1`,
      );
      return fromBigint(row?.version ?? 0);
    },

    snapshot: () =>
      db.readConsistent(async () => ({
        version: await store.version(),
        tenants: await store.listTenants(),
        apps: await store.listApps(),
        keys: (await db.query<KeyRow>(`SELECT * FROM ${s}.app_keys ORDER BY created_at, seq`)).map(
          toKey,
        ),
      })),

    listTenants: async () =>
      (await db.query<TenantRow>(`SELECT * FROM ${s}.tenants ORDER BY id`)).map(toTenant),
    getTenant: async (id) => {
      const [row] = await db.query<TenantRow>(`SELECT * FROM ${s}.tenants WHERE id = $1`, [id]);
      return row && toTenant(row);
    },
    createTenant: ({ id, name, source, orgId = null, sinks = {}, limits = {} }) =>
      db.transaction(async () => {
        const now = clock();
        await insertOnce(
          `INSERT INTO ${s}.tenants (id, name, org_id, sinks, limits, source, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [id, name, orgId, json(sinks), json(limits), source, now, now],
          `tenant ${id}`,
        );
        await bump();
        return { id, name, orgId, sinks, limits, source, createdAt: now, updatedAt: now };
      }),
    updateTenant: (id, changes) =>
      db.transaction(async () => {
        const current = await store.getTenant(id);
        if (!current) return undefined;
        const next: Tenant = { ...current, ...definedOnly(changes), updatedAt: clock() };
        await db.change(
          `UPDATE ${s}.tenants SET name = $1, org_id = $2, sinks = $3, limits = $4, source = $5, updated_at = $6
           WHERE id = $7`,
          [
            next.name,
            next.orgId,
            json(next.sinks),
            json(next.limits),
            next.source,
            next.updatedAt,
            id,
          ],
        );
        await bump();
        return next;
      }),
    deleteTenant: (id) =>
      db.transaction(async () => {
        // Its apps and their keys go with it (ON DELETE CASCADE).
        const deleted = (await db.change(`DELETE FROM ${s}.tenants WHERE id = $1`, [id])) > 0;
        if (deleted) await bump();
        return deleted;
      }),

    listApps: async (tenantId) =>
      (tenantId === undefined
        ? await db.query<AppRow>(`SELECT * FROM ${s}.apps ORDER BY id`)
        : await db.query<AppRow>(`SELECT * FROM ${s}.apps WHERE tenant_id = $1 ORDER BY id`, [
            tenantId,
          ])
      ).map(toApp),
    getApp: async (id) => {
      const [row] = await db.query<AppRow>(`SELECT * FROM ${s}.apps WHERE id = $1`, [id]);
      return row && toApp(row);
    },
    createApp: (input: NewApp) =>
      db.transaction(async () => {
        const now = clock();
        const app: App = newAppRecord(input, now);
        await insertOnce(
          `INSERT INTO ${s}.apps (id, tenant_id, name, allowed_origins, environments, sampling_rate,
             trace_propagation_urls, ignore_urls, limits, source, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [...appColumns(app), app.source, now, now],
          `app ${app.id}`,
        );
        await bump();
        return app;
      }),
    updateApp: (id, changes: AppChanges & { source?: Source }) =>
      db.transaction(async () => {
        const current = await store.getApp(id);
        if (!current) return undefined;
        const next: App = { ...current, ...definedOnly(changes), updatedAt: clock() };
        await db.change(
          `UPDATE ${s}.apps SET tenant_id = $2, name = $3, allowed_origins = $4, environments = $5,
             sampling_rate = $6, trace_propagation_urls = $7, ignore_urls = $8, limits = $9,
             source = $10, updated_at = $11
           WHERE id = $1`,
          [id, ...appColumns(next).slice(1), next.source, next.updatedAt],
        );
        await bump();
        return next;
      }),
    deleteApp: (id) =>
      db.transaction(async () => {
        const deleted = (await db.change(`DELETE FROM ${s}.apps WHERE id = $1`, [id])) > 0;
        if (deleted) await bump();
        return deleted;
      }),

    listKeys: async (appId) =>
      (
        await db.query<KeyRow>(
          `SELECT * FROM ${s}.app_keys WHERE app_id = $1 ORDER BY created_at, seq`,
          [appId],
        )
      ).map(toKey),
    findKey: async (key) => {
      const [row] = await db.query<KeyRow>(`SELECT * FROM ${s}.app_keys WHERE key = $1`, [key]);
      return row && toKey(row);
    },
    addKey: (key) =>
      db.transaction(async () => {
        await insertOnce(
          `INSERT INTO ${s}.app_keys (key, app_id, source, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
          [key.key, key.appId, key.source, key.createdAt, key.expiresAt],
          'app key',
        );
        await bump();
      }),
    expireKeys: (appId, expiresAt, keep) =>
      db.transaction(async () => {
        await db.change(
          `UPDATE ${s}.app_keys SET expires_at = $1
           WHERE app_id = $2 AND key <> $3 AND (expires_at IS NULL OR expires_at > $1)`,
          [expiresAt, appId, keep],
        );
        await bump();
      }),
    deleteKey: (key) =>
      db.transaction(async () => {
        const deleted = (await db.change(`DELETE FROM ${s}.app_keys WHERE key = $1`, [key])) > 0;
        if (deleted) await bump();
        return deleted;
      }),

    // Tokens and the audit log are not in the cache (tokens are looked up per admin request), so
    // their changes do not bump the version: replicas have nothing to reload.
    addToken: (token) =>
      db.transaction(() =>
        insertOnce(
          `INSERT INTO ${s}.admin_tokens (id, name, hash, scopes, created_at, expires_at, revoked_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            token.id,
            token.name,
            token.hash,
            json(token.scopes),
            token.createdAt,
            token.expiresAt,
            token.revokedAt,
          ],
          `token ${token.id}`,
        ),
      ),
    findTokenByHash: async (hash) => {
      const [row] = await db.query<TokenRow>(`SELECT * FROM ${s}.admin_tokens WHERE hash = $1`, [
        hash,
      ]);
      return row && toToken(row);
    },
    getToken: async (id) => {
      const [row] = await db.query<TokenRow>(`SELECT * FROM ${s}.admin_tokens WHERE id = $1`, [id]);
      return row && toToken(row);
    },
    listTokens: async () =>
      (await db.query<TokenRow>(`SELECT * FROM ${s}.admin_tokens ORDER BY created_at, id`)).map(
        toToken,
      ),
    revokeToken: (id, at) =>
      db.transaction(async () => {
        // The first revocation's time stays; revoking again still answers "it exists".
        const revoked = await db.change(
          `UPDATE ${s}.admin_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
          [at, id],
        );
        if (revoked > 0) return true;
        return (await db.query(`SELECT 1 FROM ${s}.admin_tokens WHERE id = $1`, [id])).length > 0;
      }),

    appendAudit: (entry) =>
      db.transaction(async () => {
        await db.change(
          `INSERT INTO ${s}.audit_log (at, actor, action, target, tenant_id, before, after)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            entry.at,
            entry.actor,
            entry.action,
            entry.target,
            entry.tenantId,
            json(entry.before),
            json(entry.after),
          ],
        );
      }),
    listAudit: async ({ tenantId, beforeId, limit }) => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (tenantId !== undefined) {
        params.push(tenantId);
        where.push(`tenant_id = $${params.length}`);
      }
      if (beforeId !== undefined) {
        params.push(beforeId);
        where.push(`id < $${params.length}`);
      }
      params.push(limit);
      const rows = await db.query<AuditRow>(
        `SELECT * FROM ${s}.audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY id DESC LIMIT $${params.length}`,
        params,
      );
      return rows.map(toAudit);
    },

    subscribe: async (subscriber) => {
      if (closing) throw new Error('the registry store is closed');
      // One LISTEN connection for every subscriber of this store; it stays until `close`.
      listener ??= startListener();
      let channelListener: ChannelListener;
      try {
        channelListener = await listener;
      } catch (error) {
        listener = undefined; // the next subscribe tries again
        throw error;
      }
      channelListener.add(subscriber);
      return () => {
        channelListener.remove(subscriber);
        return Promise.resolve();
      };
    },

    transaction: (work) => db.transaction(work),

    close: () =>
      (closing ??= (async () => {
        const channelListener = await listener?.catch(() => undefined);
        await channelListener?.close();
        await db.close();
      })()),
  };
  return store;
}

/** The app's columns from `id` to `limits`, in table order, as query parameters. */
function appColumns(app: App): unknown[] {
  return [
    app.id,
    app.tenantId,
    app.name,
    json(app.allowedOrigins),
    json(app.environments),
    app.samplingRate,
    json(app.tracePropagationUrls),
    json(app.ignoreUrls),
    json(app.limits),
  ];
}
