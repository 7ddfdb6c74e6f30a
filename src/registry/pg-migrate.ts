import type pg from 'pg';
import { advisoryLockKey, createPool, quoteSchema, type PoolOptions } from './pg-database.js';

/**
 * One component's schema changes, in order; each is SQL given the quoted schema name. Append
 * only: a migration that has run is never edited, a change is a new one.
 */
export type Migrations = readonly ((schema: string) => string)[];

/**
 * Brings `component`'s tables in `schema` up to date, and records each step in
 * `<schema>.pharos_migrations (component, version)`.
 *
 * Everything runs in one transaction that first takes an advisory lock (per schema): replicas
 * starting together queue on the lock, the first migrates, the others then find nothing to do.
 * DDL is transactional in PostgreSQL, so a failed migration leaves no half-made table behind.
 * Returns the versions applied by this call.
 */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  component: string,
  migrations: Migrations,
): Promise<number[]> {
  const quoted = quoteSchema(schema);
  const client = await pool.connect();
  let connectionBroken = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [
      advisoryLockKey(`pharos:migrate:${schema}`),
    ]);
    // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even
    // when the schema exists, which a least-privilege role using `public` may not have.
    const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
      schema,
    ]);
    if (rowCount === 0) await client.query(`CREATE SCHEMA ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.pharos_migrations (
         component TEXT NOT NULL,
         version INTEGER NOT NULL,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
         PRIMARY KEY (component, version)
       )`,
    );
    const { rows } = await client.query<{ applied: number | null }>(
      `SELECT max(version) AS applied FROM ${quoted}.pharos_migrations WHERE component = $1`,
      [component],
    );
    const applied = rows[0]?.applied ?? 0;
    if (applied > migrations.length) {
      throw new Error(
        `the ${component} tables in schema ${schema} are at version ${applied}, newer than this Pharos knows (${migrations.length}); run a newer Pharos`,
      );
    }
    const ran: number[] = [];
    for (let version = applied + 1; version <= migrations.length; version++) {
      const sql = migrations[version - 1] as (schema: string) => string;
      await client.query(sql(quoted));
      await client.query(
        `INSERT INTO ${quoted}.pharos_migrations (component, version) VALUES ($1, $2)`,
        [component, version],
      );
      ran.push(version);
    }
    await client.query('COMMIT');
    return ran;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      connectionBroken = true;
    });
    throw error;
  } finally {
    client.release(connectionBroken);
  }
}

/** A pool whose `component` tables are up to date; the pool is closed if migrating fails. */
export async function openMigratedPool(
  url: string,
  pool: PoolOptions,
  migration: { schema: string; component: string; migrations: Migrations },
): Promise<pg.Pool> {
  const opened = createPool(url, pool);
  try {
    await migrate(opened, migration.schema, migration.component, migration.migrations);
  } catch (error) {
    await opened.end();
    throw error;
  }
  return opened;
}
