import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { POSTGRES_URL } from '../registry/postgres-helpers.js';

/**
 * A PostgreSQL database of this test's own, created empty and dropped at the end.
 *
 * A whole database rather than a schema: `pharos start` keeps its registry in the `public`
 * schema of the database named by `registry.url` (there is no setting for the schema), so a
 * fresh database is what keeps the replicas of this test away from every other test's tables
 * and NOTIFY channels.
 */
export class TestDatabase {
  private constructor(
    readonly name: string,
    /** `registry.url` of the replicas. */
    readonly url: string,
  ) {}

  static async create(): Promise<TestDatabase> {
    const name = `pharos_replicas_${randomBytes(6).toString('hex')}`;
    await withAdmin((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${name}`;
    return new TestDatabase(name, url.toString());
  }

  /** Drops the database, closing whatever connection a killed replica may have left behind. */
  async drop(): Promise<void> {
    await withAdmin((client) =>
      client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(this.name)} WITH (FORCE)`),
    );
  }
}

/** One connection to the server's maintenance database (the test database itself cannot be). */
async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}
