import type Database from 'better-sqlite3';
import { ERROR_GROUPS_MIGRATION } from '../enrich/fingerprint/store-groups.js';

/** Versioned migrations of the telemetry store; `PRAGMA user_version` counts those applied. Append only. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE metas (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    meta TEXT NOT NULL
  );
  CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    time INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    name TEXT,
    session_id TEXT,
    page_id TEXT,
    trace_id TEXT,
    span_id TEXT,
    meta_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    extra TEXT
  );
  CREATE INDEX items_by_app_kind_time ON items (app_id, kind, time, id);
  CREATE INDEX items_by_app_session ON items (app_id, session_id, time) WHERE session_id IS NOT NULL;
  CREATE INDEX items_by_trace ON items (trace_id) WHERE trace_id IS NOT NULL;
  CREATE INDEX items_by_received ON items (received_at);
  CREATE INDEX items_by_meta ON items (meta_id);
  `,
  // Error groups per app and fingerprint, with a session sketch (src/enrich/fingerprint).
  ERROR_GROUPS_MIGRATION,
];

export function migrateStore(db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  for (let index = applied; index < MIGRATIONS.length; index++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[index] as string);
      db.pragma(`user_version = ${index + 1}`);
    })();
  }
}
