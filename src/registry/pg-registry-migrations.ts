import type { Migrations } from './pg-migrate.js';

/**
 * The registry's tables in PostgreSQL: the same tables and columns as SQLite's (sqlite-store.ts),
 * with PostgreSQL's types.
 *
 * - Times are BIGINT milliseconds since the epoch, as in the model.
 * - Structured fields are JSON, not JSONB: JSONB reorders object keys, and reconciliation compares
 *   what is stored with what the config file declares as JSON text, key order included; JSON
 *   keeps the text as written. Nothing queries inside these values.
 * - Ids are `COLLATE "C"`: lists are ordered by id, and byte order is SQLite's order whatever the
 *   database's locale.
 * - `app_keys.seq` stands for SQLite's rowid: keys created in the same millisecond keep their
 *   insertion order.
 */
export const REGISTRY_MIGRATIONS: Migrations = [
  (s) => `
  CREATE TABLE ${s}.registry_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
  );
  INSERT INTO ${s}.registry_version (id, version) VALUES (1, 0);

  CREATE TABLE ${s}.tenants (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    org_id TEXT,
    sinks JSON NOT NULL DEFAULT '{}',
    limits JSON NOT NULL DEFAULT '{}',
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE ${s}.apps (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES ${s}.tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    allowed_origins JSON NOT NULL,
    environments JSON NOT NULL DEFAULT '[]',
    sampling_rate DOUBLE PRECISION NOT NULL DEFAULT 1,
    trace_propagation_urls JSON NOT NULL DEFAULT '[]',
    ignore_urls JSON NOT NULL DEFAULT '[]',
    limits JSON NOT NULL DEFAULT '{}',
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE INDEX apps_by_tenant ON ${s}.apps (tenant_id);

  CREATE TABLE ${s}.app_keys (
    key TEXT COLLATE "C" PRIMARY KEY,
    app_id TEXT COLLATE "C" NOT NULL REFERENCES ${s}.apps (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    seq BIGINT GENERATED ALWAYS AS IDENTITY
  );
  CREATE INDEX app_keys_by_app ON ${s}.app_keys (app_id);

  CREATE TABLE ${s}.admin_tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    scopes JSON NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
  );

  CREATE TABLE ${s}.audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    tenant_id TEXT COLLATE "C",
    before JSON,
    after JSON
  );
  CREATE INDEX audit_log_by_tenant ON ${s}.audit_log (tenant_id, id);
  `,
];
