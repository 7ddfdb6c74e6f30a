import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresSourceMapStore } from '../../src/enrich/sourcemaps/pg-map-store.js';
import type { SourceMapStore } from '../../src/enrich/sourcemaps/index.js';
import { openPostgresRegistry, type PostgresRegistryOptions } from '../../src/registry/pg-store.js';
import type { RegistryStore } from '../../src/registry/index.js';
import type { RegistryBackend, RegistryTestDatabase } from './store-suite.js';

/** The local test server (trust auth); PHAROS_TEST_POSTGRES_URL points elsewhere. */
export const POSTGRES_URL =
  process.env.PHAROS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other test file (nor anything else in the database) uses. */
export function randomSchemaName(): string {
  return `pharos_test_${randomBytes(6).toString('hex')}`;
}

/**
 * One test file's schema, and a connection of the tests' own to inspect it and to drop it.
 * Nothing here touches any other schema.
 */
export class TestSchema {
  readonly name: string;
  readonly admin: pg.Pool;

  constructor(name: string = randomSchemaName()) {
    this.name = name;
    this.admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  }

  async drop(): Promise<void> {
    await this.admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(this.name)} CASCADE`);
  }

  /** Drops the schema and closes the tests' connection (afterAll). */
  async dispose(): Promise<void> {
    await this.drop();
    await this.admin.end();
  }
}

/**
 * Every test gets the file's schema new and empty: dropped, then migrated again by the first
 * store opened. Stores opened by a test are closed before the next one starts.
 */
export function postgresBackend(
  schema: TestSchema,
  defaults: Omit<PostgresRegistryOptions, 'schema' | 'clock'> = {},
): RegistryBackend {
  return {
    name: 'postgres',
    async create(): Promise<RegistryTestDatabase> {
      await schema.drop();
      const opened: { close(): Promise<void> }[] = [];
      const track = <T extends { close(): Promise<void> }>(store: T): T => {
        opened.push(store);
        return store;
      };
      return {
        open: async (options = {}): Promise<RegistryStore> =>
          track(
            await openPostgresRegistry(POSTGRES_URL, {
              ...defaults,
              ...options,
              schema: schema.name,
            }),
          ),
        openMaps: async (options = {}): Promise<SourceMapStore> =>
          track(
            await openPostgresSourceMapStore(POSTGRES_URL, { ...options, schema: schema.name }),
          ),
        dispose: async () => {
          await Promise.all(opened.map((store) => store.close()));
          await schema.drop();
        },
      };
    },
  };
}
