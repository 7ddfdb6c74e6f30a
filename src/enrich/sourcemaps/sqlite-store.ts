import Database from 'better-sqlite3';
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
 * The table lives in the registry database but is not one of the registry's migrations
 * (`PRAGMA user_version` belongs to the registry): it is created here, idempotently. It has no
 * foreign key to `apps` on purpose, so that a future rebuild of that table (DROP + RENAME) can
 * never cascade into the maps; deleting an app's maps is an explicit `delete(appId)`.
 * The content column is last so that listing never reads the (overflow) pages of the blobs.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sourcemaps (
    app_id TEXT NOT NULL,
    bundle_id TEXT NOT NULL,
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    stored_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (app_id, bundle_id, file)
  );
`;

const INFO_COLUMNS =
  'app_id, bundle_id, file, bytes, stored_bytes, sha256, uploaded_at, uploaded_by';

interface InfoRow {
  app_id: string;
  bundle_id: string;
  file: string;
  bytes: number;
  stored_bytes: number;
  sha256: string;
  uploaded_at: number;
  uploaded_by: string;
}

const toInfo = (row: InfoRow): SourceMapInfo => ({
  appId: row.app_id,
  bundleId: row.bundle_id,
  file: row.file,
  bytes: row.bytes,
  storedBytes: row.stored_bytes,
  sha256: row.sha256,
  uploadedAt: row.uploaded_at,
  uploadedBy: row.uploaded_by,
});

/**
 * Source maps in the registry's SQLite file (`<dataDir>/registry.db`), on a connection of their
 * own. WAL lets the registry, the CLI and other processes read while an upload writes.
 * Compression runs on the thread pool, so a 30 MB upload does not stall the event loop.
 */
export function openSqliteSourceMapStore(
  file: string,
  clock: () => number = Date.now,
): SourceMapStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);

  const upsert = db.prepare(
    `INSERT INTO sourcemaps (${INFO_COLUMNS}, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (app_id, bundle_id, file) DO UPDATE SET
       bytes = excluded.bytes, stored_bytes = excluded.stored_bytes, sha256 = excluded.sha256,
       uploaded_at = excluded.uploaded_at, uploaded_by = excluded.uploaded_by, content = excluded.content`,
  );
  const selectInfo = db.prepare(
    `SELECT ${INFO_COLUMNS} FROM sourcemaps WHERE app_id = ? AND bundle_id = ? AND file = ?`,
  );
  const selectContent = db.prepare(
    'SELECT bytes, content FROM sourcemaps WHERE app_id = ? AND bundle_id = ? AND file = ?',
  );
  const listByApp = db.prepare(
    `SELECT ${INFO_COLUMNS} FROM sourcemaps WHERE app_id = ? ORDER BY uploaded_at DESC, bundle_id, file`,
  );
  const listByBundle = db.prepare(
    `SELECT ${INFO_COLUMNS} FROM sourcemaps WHERE app_id = ? AND bundle_id = ? ORDER BY file`,
  );
  const insertAll = db.transaction((rows: (string | number | Buffer)[][]) => {
    for (const row of rows) upsert.run(...row);
  });

  return {
    async put(maps: readonly NewSourceMap[], uploadedBy: string): Promise<SourceMapInfo[]> {
      const prepared = await prepareSourceMaps(maps);
      const uploadedAt = clock();
      insertAll(storedRows(prepared, uploadedAt, uploadedBy));
      return storedInfo(prepared, uploadedAt, uploadedBy);
    },

    info(key: SourceMapKey) {
      const row = selectInfo.get(key.appId, key.bundleId, key.file) as InfoRow | undefined;
      return Promise.resolve(row && toInfo(row));
    },

    async read(key: SourceMapKey) {
      const row = selectContent.get(key.appId, key.bundleId, key.file) as
        { bytes: number; content: Buffer } | undefined;
      if (!row) return undefined;
      return inflateStoredMap(row.content, row.bytes);
    },

    list(appId: string, bundleId?: string) {
      const rows = (
        bundleId === undefined ? listByApp.all(appId) : listByBundle.all(appId, bundleId)
      ) as InfoRow[];
      return Promise.resolve(rows.map(toInfo));
    },

    delete(appId: string, bundleId: string, file?: string) {
      const { changes } =
        file === undefined
          ? db
              .prepare('DELETE FROM sourcemaps WHERE app_id = ? AND bundle_id = ?')
              .run(appId, bundleId)
          : db
              .prepare('DELETE FROM sourcemaps WHERE app_id = ? AND bundle_id = ? AND file = ?')
              .run(appId, bundleId, file);
      return Promise.resolve(changes);
    },

    close() {
      db.close();
      return Promise.resolve();
    },
  };
}
