import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { PharosError } from '../errors/index.js';

/** What the PostgreSQL stores log: a pool or a listening connection failing and coming back. */
export type PgLogger = Pick<Logger, 'info' | 'warn'>;

export const DEFAULT_SCHEMA = 'public';

/**
 * Lower-case identifiers only, so the name means the same quoted or not (in psql, in a URL's
 * `search_path`); at most 47 characters, so that `pharos_registry_<schema>` (the NOTIFY channel)
 * stays within PostgreSQL's 63-byte identifiers instead of being truncated into another's name.
 */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,46}$/;

/** The schema name, checked and quoted for SQL. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new PharosError(
      'CONFIG_INVALID',
      `registry schema ${JSON.stringify(schema)} must be 1–47 lower-case letters, digits or underscores, not starting with a digit`,
    );
  }
  return pg.escapeIdentifier(schema);
}

/**
 * A 64-bit advisory-lock key for a name (`pg_advisory_xact_lock(bigint)`), as a decimal string
 * for a `$n::bigint` parameter. Derived from SHA-256 rather than `hashtext()`, whose values are
 * not promised to stay the same across PostgreSQL versions.
 */
export function advisoryLockKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/**
 * A number from a BIGINT column. node-postgres returns BIGINT as a string (it may not fit a
 * double); the registry's (milliseconds, counters, ids) always fit, so they are converted here,
 * checked, rather than by a process-wide type parser that would change every other pg user.
 */
export function fromBigint(value: string | number): number {
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(number)) throw new Error(`BIGINT ${value} is not a safe integer`);
  return number;
}

export function fromBigintOrNull(value: string | number | null): number | null {
  return value === null ? null : fromBigint(value);
}

/** SQLSTATE codes the stores turn into Pharos errors. */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Constraint violations as the registry's own errors: a duplicate is a CONFLICT (409), a
 * reference to a missing tenant or app is NOT_FOUND (404), whichever replica raced to it first.
 */
export function translateError(error: unknown): unknown {
  if (!(error instanceof pg.DatabaseError)) return error;
  const where = [error.table, error.constraint].filter(Boolean).join(', ');
  if (error.code === UNIQUE_VIOLATION) {
    return new PharosError('CONFLICT', `already exists (${where}): ${error.detail ?? ''}`.trim(), {
      cause: error,
    });
  }
  if (error.code === FOREIGN_KEY_VIOLATION) {
    return new PharosError('NOT_FOUND', `refers to a missing row (${where})`, { cause: error });
  }
  return error;
}

export interface PoolOptions {
  /** Shown in `pg_stat_activity.application_name`, so an operator can tell the connections apart. */
  applicationName: string;
  max: number;
  logger: PgLogger | undefined;
}

export function createPool(url: string, options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    application_name: options.applicationName,
    max: options.max,
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle pooled connection that dies (server restart, terminated backend) is reported here;
  // without a listener the 'error' event would crash the process. The pool replaces it.
  pool.on('error', (error) =>
    options.logger?.warn({ err: error }, 'an idle PostgreSQL connection failed'),
  );
  return pool;
}

export type Row = pg.QueryResultRow;

/**
 * A pool plus "the current transaction": inside `transaction(work)`, every `query` made by `work`
 * (however deeply nested, through AsyncLocalStorage) runs on the transaction's own connection;
 * outside, on any pooled one.
 */
export class PgDatabase {
  readonly pool: pg.Pool;
  private readonly writeLockKey: string | undefined;
  private readonly current = new AsyncLocalStorage<pg.PoolClient>();
  /** Transactions and consistent reads in progress: the storage is switched off at 0. */
  private active = 0;

  /**
   * With `writeLock`, every transaction takes that transaction-scoped advisory lock first, so
   * writers are serialised across every replica, like SQLite's single writer (BEGIN IMMEDIATE):
   * a check-then-write inside a transaction cannot race another replica's.
   */
  constructor(pool: pg.Pool, options: { writeLock?: string } = {}) {
    this.pool = pool;
    this.writeLockKey =
      options.writeLock === undefined ? undefined : advisoryLockKey(options.writeLock);
  }

  async query<R extends Row>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return (await this.execute<R>(sql, params)).rows;
  }

  /** The number of rows the statement changed. */
  async change(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.execute(sql, params)).rowCount ?? 0;
  }

  private async execute<R extends Row>(
    sql: string,
    params: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    const client = this.current.getStore();
    try {
      return client
        ? await client.query<R>(sql, [...params])
        : await this.pool.query<R>(sql, [...params]);
    } catch (error) {
      throw translateError(error);
    }
  }

  inTransaction(): boolean {
    return this.current.getStore() !== undefined;
  }

  /**
   * Runs `work` with `client` as the current connection. A live AsyncLocalStorage keeps Node's
   * promise hooks on for every promise of the process (a few µs on each ingest request, see
   * docs/performance.md), so it is switched off whenever nothing runs in it.
   */
  private async withClient<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await this.current.run(client, work);
    } finally {
      if (--this.active === 0) this.current.disable();
    }
  }

  /**
   * Runs `work` in one transaction on a dedicated connection (READ COMMITTED: once the write
   * lock is held, every statement sees what the previous writer committed). Nested calls join the
   * outer transaction. Rolls back and rethrows when `work` throws.
   */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.inTransaction()) return work();
    const client = await this.pool.connect();
    let connectionBroken = false;
    try {
      await client.query('BEGIN');
      if (this.writeLockKey !== undefined) {
        await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [this.writeLockKey]);
      }
      const result = await this.withClient(client, work);
      const { command } = await client.query('COMMIT');
      // A statement failed inside `work` and `work` swallowed the error: PostgreSQL then answers
      // COMMIT with ROLLBACK. Say so instead of reporting a success that was not saved.
      if (command === 'ROLLBACK') {
        throw new Error('the transaction was rolled back: a statement in it failed');
      }
      return result;
    } catch (error) {
      if (client.getTransactionStatus() !== 'I') {
        await client.query('ROLLBACK').catch(() => {
          connectionBroken = true;
        });
      }
      throw translateError(error);
    } finally {
      // A connection that could not roll back is destroyed rather than returned mid-transaction.
      client.release(connectionBroken);
    }
  }

  /**
   * A read-only view of one moment: the current transaction's when inside one (it sees its own
   * writes), else a REPEATABLE READ transaction, so several queries agree with each other.
   */
  async readConsistent<T>(read: () => Promise<T>): Promise<T> {
    if (this.inTransaction()) return read();
    const client = await this.pool.connect();
    let connectionBroken = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await this.withClient(client, read);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        connectionBroken = true;
      });
      throw translateError(error);
    } finally {
      client.release(connectionBroken);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
