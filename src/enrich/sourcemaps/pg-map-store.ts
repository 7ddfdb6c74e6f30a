import {
  DEFAULT_SCHEMA,
  PgDatabase,
  fromBigint,
  quoteSchema,
  type PgLogger,
} from '../../registry/pg-database.js';
import { openMigratedPool, type Migrations } from '../../registry/pg-migrate.js';
import {
  inflateStoredMap,
  prepareSourceMaps,
  storedInfo,
  storedRows,
  type NewSourceMap,
  type SourceMapInfo,
  type SourceMapKey,
  type SourceMapStore,
} from './store.js';

/**
 * The `sourcemaps` table, next to the registry's in the same schema, as in SQLite: no foreign
 * key to `apps` (deleting an app's maps is an explicit `delete`). Its migrations are recorded
 * under their own component in `pharos_migrations`, so the two stores open in either order.
 * The content is zlib already: STORAGE EXTERNAL keeps PostgreSQL from compressing it again.
 */
const SOURCEMAP_MIGRATIONS: Migrations = [
  (s) => `
  CREATE TABLE ${s}.sourcemaps (
    app_id TEXT COLLATE "C" NOT NULL,
    bundle_id TEXT COLLATE "C" NOT NULL,
    file TEXT COLLATE "C" NOT NULL,
    bytes INTEGER NOT NULL,
    stored_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    content BYTEA NOT NULL,
    PRIMARY KEY (app_id, bundle_id, file)
  );
  ALTER TABLE ${s}.sourcemaps ALTER COLUMN content SET STORAGE EXTERNAL;
  `,
];

const INFO_COLUMNS =
  'app_id, bundle_id, file, bytes, stored_bytes, sha256, uploaded_at, uploaded_by';

type InfoRow = {
  app_id: string;
  bundle_id: string;
  file: string;
  bytes: number;
  stored_bytes: number;
  sha256: string;
  uploaded_at: string;
  uploaded_by: string;
};

const toInfo = (row: InfoRow): SourceMapInfo => ({
  appId: row.app_id,
  bundleId: row.bundle_id,
  file: row.file,
  bytes: row.bytes,
  storedBytes: row.stored_bytes,
  sha256: row.sha256,
  uploadedAt: fromBigint(row.uploaded_at),
  uploadedBy: row.uploaded_by,
});

export interface PostgresSourceMapStoreOptions {
  clock?: () => number;
  /** The registry's schema (default `public`). */
  schema?: string;
  logger?: PgLogger;
  /** Connections of its own (default 4): a large upload never holds up the registry's. */
  poolSize?: number;
}

/**
 * Uploaded source maps in the registry's PostgreSQL database, so a map uploaded through any
 * replica is found by every other. Same behaviour as `openSqliteSourceMapStore`.
 */
export async function openPostgresSourceMapStore(
  url: string,
  options: PostgresSourceMapStoreOptions = {},
): Promise<SourceMapStore> {
  const clock = options.clock ?? Date.now;
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const s = quoteSchema(schema);
  const pool = await openMigratedPool(
    url,
    {
      applicationName: `pharos-sourcemaps:${schema}`,
      max: options.poolSize ?? 4,
      logger: options.logger,
    },
    { schema, component: 'sourcemaps', migrations: SOURCEMAP_MIGRATIONS },
  );
  // No write lock: an upsert has no check-then-write to protect, and a large upload must not
  // hold up registry changes.
  const db = new PgDatabase(pool);
  let closing: Promise<void> | undefined;

  return {
    async put(maps: readonly NewSourceMap[], uploadedBy: string): Promise<SourceMapInfo[]> {
      const prepared = await prepareSourceMaps(maps);
      const uploadedAt = clock();
      // One statement per map, in order: a tarball naming a file twice keeps the last, as SQLite.
      await db.transaction(async () => {
        for (const row of storedRows(prepared, uploadedAt, uploadedBy)) {
          await db.change(
            `INSERT INTO ${s}.sourcemaps (${INFO_COLUMNS}, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (app_id, bundle_id, file) DO UPDATE SET
               bytes = excluded.bytes, stored_bytes = excluded.stored_bytes, sha256 = excluded.sha256,
               uploaded_at = excluded.uploaded_at, uploaded_by = excluded.uploaded_by,
               content = excluded.content`,
            row,
          );
        }
      });
      return storedInfo(prepared, uploadedAt, uploadedBy);
    },

    async info(key: SourceMapKey) {
      const [row] = await db.query<InfoRow>(
        `SELECT ${INFO_COLUMNS} FROM ${s}.sourcemaps WHERE app_id = $1 AND bundle_id = $2 AND file = $3`,
        [key.appId, key.bundleId, key.file],
      );
      return row && toInfo(row);
    },

    async read(key: SourceMapKey) {
      const [row] = await db.query<{ bytes: number; content: Buffer }>(
        `SELECT bytes, content FROM ${s}.sourcemaps WHERE app_id = $1 AND bundle_id = $2 AND file = $3`,
        [key.appId, key.bundleId, key.file],
      );
      return row && inflateStoredMap(row.content, row.bytes);
    },

    async list(appId: string, bundleId?: string) {
      const rows =
        bundleId === undefined
          ? await db.query<InfoRow>(
              `SELECT ${INFO_COLUMNS} FROM ${s}.sourcemaps WHERE app_id = $1
               ORDER BY uploaded_at DESC, bundle_id, file`,
              [appId],
            )
          : await db.query<InfoRow>(
              `SELECT ${INFO_COLUMNS} FROM ${s}.sourcemaps WHERE app_id = $1 AND bundle_id = $2
               ORDER BY file`,
              [appId, bundleId],
            );
      return rows.map(toInfo);
    },

    delete(appId: string, bundleId: string, file?: string) {
      return file === undefined
        ? db.change(`DELETE FROM ${s}.sourcemaps WHERE app_id = $1 AND bundle_id = $2`, [
            appId,
            bundleId,
          ])
        : db.change(
            `DELETE FROM ${s}.sourcemaps WHERE app_id = $1 AND bundle_id = $2 AND file = $3`,
            [appId, bundleId, file],
          );
    },

    close() {
      return (closing ??= db.close());
    },
  };
}
