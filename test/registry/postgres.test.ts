import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/index.js';
import { openPostgresSourceMapStore } from '../../src/enrich/sourcemaps/pg-map-store.js';
import { followRegistryChanges, type ChangeFollower } from '../../src/registry/follow.js';
import { Registry, reconcileRegistry, type RegistryStore } from '../../src/registry/index.js';
import {
  listenerApplicationName,
  openPostgresRegistry,
  registryChannel,
} from '../../src/registry/pg-store.js';
import { ChannelListener } from '../../src/registry/pg-listener.js';
import { POSTGRES_URL, TestSchema, postgresBackend } from './postgres-helpers.js';
import { TcpProxy } from './tcp-proxy.js';
import { sourceMapStoreSuite } from './sourcemap-store-suite.js';
import { T0, registryStoreSuite, type RegistryTestDatabase } from './store-suite.js';

/** This file's schema: every test starts with it empty, and it is dropped at the end. */
const schema = new TestSchema();
// Reconnection starts quickly in tests; the default backoff also starts at 100 ms.
const backend = postgresBackend(schema, { reconnect: { initialDelayMs: 50, maxDelayMs: 1_000 } });
afterAll(() => schema.dispose());

registryStoreSuite(backend);
sourceMapStoreSuite(backend);

/** Resolves with the milliseconds it took for `check` to hold; rejects after `timeoutMs`. */
async function timeUntil(check: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(1);
  }
  return performance.now() - started;
}

/** The store without `subscribe`, as a store that cannot push changes would be. */
function withoutSubscribe(store: RegistryStore): RegistryStore {
  return new Proxy(store, {
    get: (target, property, receiver) =>
      property === 'subscribe' ? undefined : (Reflect.get(target, property, receiver) as unknown),
  });
}

describe('registry store (postgres only)', () => {
  let database: RegistryTestDatabase;
  let store: RegistryStore;
  let now: number;
  const clock = () => now;

  beforeEach(async () => {
    now = T0;
    database = await backend.create();
    store = await database.open({ clock });
  });
  afterEach(() => database.dispose());

  const columnTypes = async (table: string) =>
    Object.fromEntries(
      (
        await schema.admin.query<{ column_name: string; data_type: string }>(
          'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
          [schema.name, table],
        )
      ).rows.map((row) => [row.column_name, row.data_type]),
    );

  describe('errors and transactions', () => {
    it('turns duplicates into CONFLICT and missing parents into NOT_FOUND', async () => {
      await store.createTenant({ id: 'acme', name: 'acme', source: 'api' });
      await expect(
        store.createTenant({ id: 'acme', name: 'x', source: 'api' }),
      ).rejects.toMatchObject({ code: 'PHAROS_ERR_CONFLICT' });
      await expect(
        store.createApp({ id: 'shop', tenantId: 'nope', name: 'shop', source: 'api' }),
      ).rejects.toMatchObject({ code: 'PHAROS_ERR_NOT_FOUND' });
      await store.createApp({ id: 'shop', tenantId: 'acme', name: 'shop', source: 'api' });
      await expect(
        store.createApp({ id: 'shop', tenantId: 'acme', name: 'x', source: 'api' }),
      ).rejects.toMatchObject({ code: 'PHAROS_ERR_CONFLICT' });
      const key = {
        key: 'pk_1',
        appId: 'shop',
        source: 'api' as const,
        createdAt: T0,
        expiresAt: null,
      };
      await store.addKey(key);
      await expect(store.addKey(key)).rejects.toMatchObject({ code: 'PHAROS_ERR_CONFLICT' });
      await expect(store.addKey({ ...key, key: 'pk_2', appId: 'nope' })).rejects.toMatchObject({
        code: 'PHAROS_ERR_NOT_FOUND',
      });
      const token = {
        id: 't1',
        name: 't',
        hash: 'h',
        scopes: [],
        createdAt: T0,
        expiresAt: null,
        revokedAt: null,
      };
      await store.addToken(token);
      await expect(store.addToken({ ...token, id: 't2' })).rejects.toMatchObject({
        code: 'PHAROS_ERR_CONFLICT',
      });
    });

    it('keeps a transaction usable after a duplicate was refused in it', async () => {
      await store.transaction(async () => {
        await store.createTenant({ id: 'acme', name: 'acme', source: 'api' });
        await expect(
          store.createTenant({ id: 'acme', name: 'again', source: 'api' }),
        ).rejects.toMatchObject({ code: 'PHAROS_ERR_CONFLICT' });
        await store.createTenant({ id: 'beta', name: 'beta', source: 'api' });
      });
      expect((await store.listTenants()).map((tenant) => tenant.id)).toEqual(['acme', 'beta']);
    });

    it('does not report a commit that PostgreSQL turned into a rollback', async () => {
      await expect(
        store.transaction(async () => {
          await store.createTenant({ id: 'acme', name: 'acme', source: 'api' });
          // A failed statement aborts a PostgreSQL transaction, even when the error is caught.
          await store
            .createApp({ id: 'shop', tenantId: 'nope', name: 'shop', source: 'api' })
            .catch(() => undefined);
        }),
      ).rejects.toThrow(/rolled back/);
      expect(await store.getTenant('acme')).toBeUndefined();
    });

    it('keeps uncommitted changes to the transaction: other readers see the last commit', async () => {
      const other = await database.open({ clock });
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let inside!: () => void;
      const started = new Promise<void>((resolve) => (inside = resolve));
      const transaction = store.transaction(async () => {
        await store.createTenant({ id: 'acme', name: 'acme', source: 'api' });
        inside();
        await held;
      });
      await started;
      // Outside the transaction's async context, the same store reads through another connection.
      expect(await store.getTenant('acme')).toBeUndefined();
      expect(await other.version()).toBe(0);
      expect((await other.snapshot()).tenants).toEqual([]);
      release();
      await transaction;
      expect(await other.getTenant('acme')).toBeDefined();
      expect(await other.version()).toBe(1);
    });

    it('serialises writers across replicas (the write lock)', async () => {
      const replicas = [store, await database.open({ clock }), await database.open({ clock })];
      await store.createTenant({ id: 'counter', name: '0', source: 'api' });
      await Promise.all(
        Array.from({ length: 9 }, (_, index) => {
          const replica = replicas[index % replicas.length] as RegistryStore;
          return replica.transaction(async () => {
            const current = Number((await replica.getTenant('counter'))?.name);
            await sleep(2);
            await replica.updateTenant('counter', { name: String(current + 1) });
          });
        }),
      );
      expect((await store.getTenant('counter'))?.name).toBe('9');
    });

    it('lets replicas reconcile the same config at once', async () => {
      const tenants = validateConfig({
        tenants: [{ id: 'acme', apps: [{ id: 'shop', keys: ['pk_shop_key_0001'] }] }],
      }).tenants;
      const registries = [store, await database.open({ clock })].map(
        (replica) => new Registry(replica, { clock }),
      );
      const reports = await Promise.all(
        registries.map((registry) => reconcileRegistry(registry, tenants, clock)),
      );
      // One did the work; the other waited for the lock, then found nothing to do.
      expect(reports.map((report) => report.created.length).sort()).toEqual([0, 3]);
      for (const registry of registries) {
        expect(registry.resolveKey('pk_shop_key_0001')?.app.id).toBe('shop');
      }
    });
  });

  describe('schema and migrations', () => {
    it('keeps times as BIGINT milliseconds, settings as JSON, in its own schema', async () => {
      expect(await columnTypes('tenants')).toMatchObject({
        created_at: 'bigint',
        updated_at: 'bigint',
        sinks: 'json',
        limits: 'json',
      });
      expect(await columnTypes('apps')).toMatchObject({ sampling_rate: 'double precision' });
      expect(await columnTypes('admin_tokens')).toMatchObject({ expires_at: 'bigint' });
      await store.addToken({
        id: 't',
        name: 't',
        hash: 'h',
        scopes: ['admin'],
        createdAt: T0,
        expiresAt: 8_000_000_000_000,
        revokedAt: null,
      });
      const read = await store.getToken('t');
      expect(read?.expiresAt).toBe(8_000_000_000_000);
      expect(typeof read?.createdAt).toBe('number');
      const { rows } = await schema.admin.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema.name],
      );
      expect(rows.map((row) => row.table_name)).toEqual([
        'admin_tokens',
        'app_keys',
        'apps',
        'audit_log',
        'pharos_migrations',
        'registry_version',
        'tenants',
      ]);
    });

    it('migrates once when three replicas start at once, and is idempotent', async () => {
      await database.dispose();
      database = await backend.create(); // the schema does not exist yet
      const started = await Promise.all([
        database.open(),
        database.open(),
        database.open(),
        database.openMaps(),
      ]);
      expect(started).toHaveLength(4);
      const migrations = async () =>
        (
          await schema.admin.query<{ component: string; version: number }>(
            `SELECT component, version FROM ${schema.name}.pharos_migrations ORDER BY component, version`,
          )
        ).rows;
      expect(await migrations()).toEqual([
        { component: 'registry', version: 1 },
        { component: 'sourcemaps', version: 1 },
      ]);
      const again = await database.open();
      expect(await again.version()).toBe(0);
      expect(await migrations()).toHaveLength(2);
    });

    it('refuses a schema newer than this Pharos, and names that are not plain identifiers', async () => {
      await schema.admin.query(
        `INSERT INTO ${schema.name}.pharos_migrations (component, version) VALUES ('registry', 99)`,
      );
      await expect(openPostgresRegistry(POSTGRES_URL, { schema: schema.name })).rejects.toThrow(
        /version 99, newer than this Pharos knows/,
      );
      await expect(
        openPostgresRegistry(POSTGRES_URL, { schema: 'Bad"Name' }),
      ).rejects.toMatchObject({ code: 'PHAROS_ERR_CONFIG_INVALID' });
      await expect(
        openPostgresSourceMapStore(POSTGRES_URL, { schema: 'x'.repeat(48) }),
      ).rejects.toMatchObject({ code: 'PHAROS_ERR_CONFIG_INVALID' });
    });
  });

  describe('change propagation between replicas', () => {
    let followers: ChangeFollower[];
    beforeEach(() => {
      followers = [];
    });
    afterEach(async () => {
      await Promise.all(followers.map((follower) => follower.stop()));
    });

    /** A second replica whose cache follows the store; the safety poll is out of the picture. */
    const replica = async (options: { subscribe: boolean; pollIntervalMs: number }) => {
      const opened = await database.open({ clock });
      const registry = new Registry(options.subscribe ? opened : withoutSubscribe(opened), {
        clock,
      });
      await registry.refresh(true);
      const errors: unknown[] = [];
      const follower = await followRegistryChanges(registry, {
        pollIntervalMs: options.pollIntervalMs,
        safetyPollIntervalMs: 60_000,
        onError: (error) => errors.push(error),
      });
      followers.push(follower);
      return { registry, follower, errors };
    };

    it('notifies the other replica of every committed change, well within 2 s', async () => {
      const {
        registry: theirs,
        follower,
        errors,
      } = await replica({
        subscribe: true,
        pollIntervalMs: 60_000, // only a notification can make it in time
      });
      expect(follower.mode).toBe('notify');
      const fromCommit: number[] = [];
      const fromCall: number[] = [];
      for (let index = 0; index < 20; index++) {
        const id = `tenant-${index}`;
        const called = performance.now();
        await store.createTenant({ id, name: id, source: 'api' });
        const committed = performance.now();
        await timeUntil(() => theirs.cachedTenant(id) !== undefined, 2_000);
        fromCommit.push(performance.now() - committed);
        fromCall.push(performance.now() - called);
      }
      const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
      const summary = {
        medianFromCommitMs: sorted(fromCommit)[10]?.toFixed(1),
        maxFromCommitMs: sorted(fromCommit)[19]?.toFixed(1),
        maxFromCallMs: sorted(fromCall)[19]?.toFixed(1),
      };
      console.log('registry propagation through NOTIFY', summary);
      expect(Math.max(...fromCall)).toBeLessThan(2_000);
      expect(errors).toEqual([]);
    });

    it('without subscribe, polling every second finds the change within 2 s', async () => {
      const { registry: theirs, follower } = await replica({
        subscribe: false,
        pollIntervalMs: 1_000,
      });
      expect(follower.mode).toBe('poll');
      await store.createTenant({ id: 'acme', name: 'acme', source: 'api' });
      const took = await timeUntil(() => theirs.cachedTenant('acme') !== undefined, 2_000);
      console.log('registry propagation by polling (1 s)', { ms: took.toFixed(0) });
    });

    it('re-establishes a terminated LISTEN connection and still sees every change', async () => {
      const {
        registry: theirs,
        follower,
        errors,
      } = await replica({
        subscribe: true,
        pollIntervalMs: 60_000,
      });
      expect(follower.mode).toBe('notify');
      const listeners = async () =>
        (
          await schema.admin.query<{ pid: number; query: string }>(
            'SELECT pid, query FROM pg_stat_activity WHERE application_name = $1',
            [listenerApplicationName(schema.name)],
          )
        ).rows;
      const [first] = await listeners();
      expect(first?.query).toMatch(/^LISTEN/);

      await schema.admin.query('SELECT pg_terminate_backend($1)', [first?.pid]);
      // Made while the listener is down: its notification is lost; the reconnection refreshes.
      await store.createTenant({ id: 'while-down', name: 'x', source: 'api' });
      await timeUntil(() => theirs.cachedTenant('while-down') !== undefined, 2_000);

      // Back to listening on a new connection: notifications flow again.
      let current = await listeners();
      while (!(current.length === 1 && current[0]?.pid !== first?.pid)) {
        await sleep(10);
        current = await listeners();
      }
      await store.createTenant({ id: 'after', name: 'x', source: 'api' });
      await timeUntil(() => theirs.cachedTenant('after') !== undefined, 2_000);
      expect(errors).toEqual([]);
    });

    it('keeps trying to listen while PostgreSQL is unreachable, then listens again', async () => {
      const postgres = new URL(POSTGRES_URL);
      const proxy = new TcpProxy({ host: postgres.hostname, port: Number(postgres.port || 5432) });
      await proxy.up();
      const throughProxy = new URL(POSTGRES_URL);
      throughProxy.port = String(proxy.port);
      const warnings: string[] = [];
      const listener = new ChannelListener({
        url: throughProxy.toString(),
        channel: registryChannel(schema.name),
        applicationName: 'pharos-test-outage',
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
        // A real pino logger, its lines collected: what an operator would read.
        logger: pino(
          { level: 'warn' },
          {
            write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg),
          },
        ),
      });
      let calls = 0;
      listener.add(() => void calls++);
      try {
        await listener.start();
        await store.createTenant({ id: 'before', name: 'x', source: 'api' });
        await timeUntil(() => calls === 1, 2_000);

        await proxy.down();
        await sleep(600); // long enough for several failed attempts
        expect(
          warnings.filter((warning) => warning.startsWith('cannot reconnect')).length,
        ).toBeGreaterThan(1);
        await proxy.up();
        // Back: one call for what may have been missed, then notifications as before.
        await timeUntil(() => calls === 2, 2_000);
        await store.createTenant({ id: 'after', name: 'x', source: 'api' });
        await timeUntil(() => calls === 3, 2_000);
      } finally {
        await listener.close();
        await proxy.down();
      }
    });

    it('notifies on commit only, once per transaction, and stops after unsubscribe', async () => {
      let calls = 0;
      const unsubscribe = await store.subscribe?.(() => void calls++);
      await expect(
        store.transaction(async () => {
          await store.createTenant({ id: 'rolled-back', name: 'x', source: 'api' });
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      await store.transaction(async () => {
        await store.createTenant({ id: 'a', name: 'a', source: 'api' });
        await store.createTenant({ id: 'b', name: 'b', source: 'api' });
        await store.deleteTenant('a');
      });
      await timeUntil(() => calls > 0, 2_000);
      await sleep(100);
      expect(calls).toBe(1);
      // Changes that do not touch the cache notify nobody.
      await store.addToken({
        id: 't',
        name: 't',
        hash: 'h',
        scopes: [],
        createdAt: T0,
        expiresAt: null,
        revokedAt: null,
      });
      await unsubscribe?.();
      await store.createTenant({ id: 'c', name: 'c', source: 'api' });
      await sleep(100);
      expect(calls).toBe(1);
      expect(registryChannel(schema.name)).toBe(`pharos_registry_${schema.name}`);
    });
  });

  describe('source maps', () => {
    it('stores a batch whole or not at all', async () => {
      const maps = await database.openMaps({ clock });
      const content = Buffer.from('{"version":3,"sources":[],"names":[],"mappings":""}');
      await expect(
        maps.put(
          [
            { appId: 'shop', bundleId: 'b1', file: 'ok.js', content },
            // PostgreSQL refuses NUL in text: the whole batch must roll back.
            { appId: 'shop', bundleId: 'b1', file: 'bad\u0000.js', content },
          ],
          'ci',
        ),
      ).rejects.toThrow();
      expect(await maps.list('shop')).toEqual([]);
      expect(await columnTypes('sourcemaps')).toMatchObject({
        content: 'bytea',
        uploaded_at: 'bigint',
      });
    });
  });
});
