import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/index.js';
import type { SourceMapStore } from '../../src/enrich/sourcemaps/index.js';
import { followRegistryChanges } from '../../src/registry/follow.js';
import {
  Registry,
  reconcileRegistry,
  type AdminToken,
  type AppKey,
  type Limits,
  type RegistryStore,
  type TenantSinks,
} from '../../src/registry/index.js';

/** A fresh, empty registry database for one test. */
export interface RegistryTestDatabase {
  /** A store on the database; every call opens another connection, as another replica would. */
  open(options?: { clock?: () => number }): Promise<RegistryStore>;
  /** The source-map store kept in the same database. */
  openMaps(options?: { clock?: () => number }): Promise<SourceMapStore>;
  /** Closes every store opened here and removes the database. */
  dispose(): Promise<void>;
}

export interface RegistryBackend {
  readonly name: string;
  create(): Promise<RegistryTestDatabase>;
}

export const T0 = 1_800_000_000_000;

/** Key order deliberately not sorted: it must come back as written (reconciliation compares JSON). */
export const LIMITS: Limits = {
  requests: { perSecond: 50, burst: 100 },
  bytes: { perSecond: 1_000_000, burst: 2_000_000 },
  kinds: { span: { perSecond: 5, burst: 10 }, log: { perSecond: 20, burst: 40 } },
};
const SINKS: TenantSinks = {
  loki: { url: 'http://loki.example:3100', headers: { 'X-B': 'b', 'X-A': 'a' } },
  traces: { url: 'http://tempo.example:4318' },
};

function declared(tenants: unknown) {
  return validateConfig({ tenants }).tenants;
}

function key(
  appId: string,
  name: string,
  createdAt: number,
  expiresAt: number | null = null,
): AppKey {
  return { key: name, appId, source: 'api', createdAt, expiresAt };
}

function token(id: string, createdAt: number, overrides: Partial<AdminToken> = {}): AdminToken {
  return {
    id,
    name: `token ${id}`,
    hash: `hash-${id}`,
    scopes: ['admin'],
    createdAt,
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

/** SQLite's store throws constraint errors synchronously: both ways count as refusing. */
export function refused(call: () => Promise<unknown>): Promise<unknown> {
  return Promise.resolve().then(call);
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(5);
  }
  return performance.now() - started;
}

/**
 * Everything a RegistryStore promises, run against one backend. The SQLite and PostgreSQL test
 * files each call this, so both stores are held to exactly the same behaviour.
 */
export function registryStoreSuite(backend: RegistryBackend): void {
  describe(`registry store (${backend.name})`, () => {
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

    const tenantWithApp = async (tenantId = 'acme', appId = 'shop') => {
      await store.createTenant({ id: tenantId, name: tenantId, source: 'api' });
      await store.createApp({ id: appId, tenantId, name: appId, source: 'api' });
    };

    describe('tenants', () => {
      it('creates, reads and lists tenants (in byte order of ids) with every field', async () => {
        const created = await store.createTenant({
          id: 'ab',
          name: 'AB',
          orgId: 'org-ab',
          sinks: SINKS,
          limits: LIMITS,
          source: 'api',
        });
        expect(created).toEqual({
          id: 'ab',
          name: 'AB',
          orgId: 'org-ab',
          sinks: SINKS,
          limits: LIMITS,
          source: 'api',
          createdAt: T0,
          updatedAt: T0,
        });
        await store.createTenant({ id: 'a-c', name: 'A-C', source: 'config' });
        const read = await store.getTenant('ab');
        expect(read).toEqual(created);
        expect(JSON.stringify(read?.limits)).toBe(JSON.stringify(LIMITS));
        expect(JSON.stringify(read?.sinks)).toBe(JSON.stringify(SINKS));
        expect(typeof read?.createdAt).toBe('number');
        expect(await store.getTenant('a-c')).toMatchObject({
          orgId: null,
          sinks: {},
          limits: {},
          source: 'config',
        });
        // '-' sorts before 'b' byte-wise; a linguistic collation would ignore it.
        expect((await store.listTenants()).map((tenant) => tenant.id)).toEqual(['a-c', 'ab']);
        expect(await store.getTenant('nope')).toBeUndefined();
      });

      it('updates only the fields given', async () => {
        await store.createTenant({ id: 'acme', name: 'acme', orgId: 'org', source: 'api' });
        now += 1_000;
        const updated = await store.updateTenant('acme', {
          name: 'ACME',
          limits: LIMITS,
          orgId: undefined,
        });
        expect(updated).toEqual({
          id: 'acme',
          name: 'ACME',
          orgId: 'org',
          sinks: {},
          limits: LIMITS,
          source: 'api',
          createdAt: T0,
          updatedAt: T0 + 1_000,
        });
        expect(await store.getTenant('acme')).toEqual(updated);
        await store.updateTenant('acme', { orgId: null, sinks: SINKS, source: 'config' });
        expect(await store.getTenant('acme')).toMatchObject({
          orgId: null,
          sinks: SINKS,
          source: 'config',
        });
        expect(await store.updateTenant('nope', { name: 'x' })).toBeUndefined();
      });

      it('deletes a tenant with its apps and their keys', async () => {
        await tenantWithApp();
        await store.addKey(key('shop', 'pk_shop_1', T0));
        await store.createTenant({ id: 'other', name: 'other', source: 'api' });
        expect(await store.deleteTenant('acme')).toBe(true);
        expect(await store.getTenant('acme')).toBeUndefined();
        expect(await store.getApp('shop')).toBeUndefined();
        expect(await store.findKey('pk_shop_1')).toBeUndefined();
        expect((await store.listTenants()).map((tenant) => tenant.id)).toEqual(['other']);
        expect(await store.deleteTenant('acme')).toBe(false);
      });

      it('refuses a duplicate tenant id', async () => {
        await store.createTenant({ id: 'acme', name: 'first', source: 'api' });
        await expect(
          refused(() => store.createTenant({ id: 'acme', name: 'second', source: 'api' })),
        ).rejects.toThrow();
        expect((await store.getTenant('acme'))?.name).toBe('first');
      });
    });

    describe('apps', () => {
      it('creates apps with the defaults, or with every setting', async () => {
        await store.createTenant({ id: 'acme', name: 'acme', source: 'api' });
        const plain = await store.createApp({
          id: 'plain',
          tenantId: 'acme',
          name: 'Plain',
          source: 'api',
        });
        expect(plain).toEqual({
          id: 'plain',
          tenantId: 'acme',
          name: 'Plain',
          allowedOrigins: [],
          environments: [],
          samplingRate: 1,
          tracePropagationUrls: [],
          ignoreUrls: [],
          limits: {},
          source: 'api',
          createdAt: T0,
          updatedAt: T0,
        });
        const full = await store.createApp({
          id: 'full',
          tenantId: 'acme',
          name: 'Full',
          allowedOrigins: ['https://shop.example', 'https://*.shop.example'],
          environments: ['production', 'staging'],
          samplingRate: 0.25,
          tracePropagationUrls: ['^https://api\\.shop\\.example/'],
          ignoreUrls: ['/health$'],
          limits: LIMITS,
          source: 'config',
        });
        expect(await store.getApp('plain')).toEqual(plain);
        expect(await store.getApp('full')).toEqual(full);
        expect(JSON.stringify((await store.getApp('full'))?.limits)).toBe(JSON.stringify(LIMITS));
        expect(await store.getApp('nope')).toBeUndefined();
      });

      it('lists the apps of every tenant or of one, by id', async () => {
        await tenantWithApp('acme', 'shop');
        await store.createApp({ id: 'blog', tenantId: 'acme', name: 'blog', source: 'api' });
        await tenantWithApp('other', 'admin');
        expect((await store.listApps()).map((app) => app.id)).toEqual(['admin', 'blog', 'shop']);
        expect((await store.listApps('acme')).map((app) => app.id)).toEqual(['blog', 'shop']);
        expect(await store.listApps('nobody')).toEqual([]);
      });

      it('updates only the settings given, and the source', async () => {
        await tenantWithApp();
        now += 5;
        const updated = await store.updateApp('shop', {
          samplingRate: 0.5,
          environments: ['production'],
          ignoreUrls: undefined,
          source: 'config',
        });
        expect(updated).toMatchObject({
          id: 'shop',
          tenantId: 'acme',
          name: 'shop',
          samplingRate: 0.5,
          environments: ['production'],
          ignoreUrls: [],
          source: 'config',
          createdAt: T0,
          updatedAt: T0 + 5,
        });
        expect(await store.getApp('shop')).toEqual(updated);
        await store.updateApp('shop', {
          allowedOrigins: ['*'],
          tracePropagationUrls: ['.*'],
          limits: { items: { perSecond: 1, burst: 1 } },
          name: 'Shop',
        });
        expect(await store.getApp('shop')).toMatchObject({
          allowedOrigins: ['*'],
          tracePropagationUrls: ['.*'],
          limits: { items: { perSecond: 1, burst: 1 } },
          name: 'Shop',
          samplingRate: 0.5,
        });
        expect(await store.updateApp('nope', { name: 'x' })).toBeUndefined();
      });

      it('deletes an app with its keys', async () => {
        await tenantWithApp();
        await store.addKey(key('shop', 'pk_shop_1', T0));
        expect(await store.deleteApp('shop')).toBe(true);
        expect(await store.findKey('pk_shop_1')).toBeUndefined();
        expect(await store.getTenant('acme')).toBeDefined();
        expect(await store.deleteApp('shop')).toBe(false);
      });

      it('refuses an app of a missing tenant, and a duplicate app id', async () => {
        await expect(
          refused(() =>
            store.createApp({ id: 'shop', tenantId: 'nope', name: 'shop', source: 'api' }),
          ),
        ).rejects.toThrow();
        await tenantWithApp();
        await expect(
          refused(() =>
            store.createApp({ id: 'shop', tenantId: 'acme', name: 'again', source: 'api' }),
          ),
        ).rejects.toThrow();
        expect((await store.listApps()).map((app) => app.name)).toEqual(['shop']);
      });
    });

    describe('keys', () => {
      it('adds, finds, lists (oldest first, then in insertion order) and deletes keys', async () => {
        await tenantWithApp();
        await tenantWithApp('other', 'blog');
        await store.addKey(key('shop', 'pk_b', T0));
        await store.addKey(key('shop', 'pk_a', T0, T0 + 60_000));
        await store.addKey(key('shop', 'pk_c', T0 - 1));
        await store.addKey(key('blog', 'pk_blog', T0));
        expect(await store.listKeys('shop')).toEqual([
          key('shop', 'pk_c', T0 - 1),
          key('shop', 'pk_b', T0),
          key('shop', 'pk_a', T0, T0 + 60_000),
        ]);
        expect(await store.findKey('pk_a')).toEqual(key('shop', 'pk_a', T0, T0 + 60_000));
        expect(await store.findKey('pk_none')).toBeUndefined();
        expect(await store.deleteKey('pk_b')).toBe(true);
        expect(await store.deleteKey('pk_b')).toBe(false);
        expect((await store.listKeys('shop')).map((k) => k.key)).toEqual(['pk_c', 'pk_a']);
        expect(await store.listKeys('nope')).toEqual([]);
      });

      it('expires the other keys of an app, never extending an earlier expiry', async () => {
        await tenantWithApp();
        await tenantWithApp('other', 'blog');
        await store.addKey(key('shop', 'pk_old', T0));
        await store.addKey(key('shop', 'pk_soon', T0, T0 + 1_000));
        await store.addKey(key('shop', 'pk_late', T0, T0 + 900_000));
        await store.addKey(key('shop', 'pk_new', T0));
        await store.addKey(key('blog', 'pk_blog', T0));
        await store.expireKeys('shop', T0 + 60_000, 'pk_new');
        const expiry = Object.fromEntries(
          [...(await store.listKeys('shop')), ...(await store.listKeys('blog'))].map((k) => [
            k.key,
            k.expiresAt,
          ]),
        );
        expect(expiry).toEqual({
          pk_old: T0 + 60_000,
          pk_soon: T0 + 1_000,
          pk_late: T0 + 60_000,
          pk_new: null,
          pk_blog: null,
        });
      });

      it('refuses a duplicate key and a key of a missing app', async () => {
        await tenantWithApp();
        await store.addKey(key('shop', 'pk_dup', T0));
        await expect(refused(() => store.addKey(key('shop', 'pk_dup', T0 + 1)))).rejects.toThrow();
        await expect(refused(() => store.addKey(key('nope', 'pk_orphan', T0)))).rejects.toThrow();
        expect(await store.listKeys('shop')).toEqual([key('shop', 'pk_dup', T0)]);
      });
    });

    describe('admin tokens', () => {
      it('stores tokens with scopes and expiry, found by hash or id, listed oldest first', async () => {
        const later = token('b-token', T0 + 10, {
          scopes: ['tenant:acme', 'sourcemaps:shop'],
          expiresAt: T0 + 86_400_000,
        });
        const earlier = token('z-token', T0);
        const sameTime = token('a-token', T0);
        await store.addToken(later);
        await store.addToken(earlier);
        await store.addToken(sameTime);
        expect(await store.findTokenByHash('hash-b-token')).toEqual(later);
        expect(await store.getToken('z-token')).toEqual(earlier);
        expect(await store.findTokenByHash('hash-unknown')).toBeUndefined();
        expect(await store.getToken('unknown')).toBeUndefined();
        expect(await store.listTokens()).toEqual([sameTime, earlier, later]);
      });

      it('revokes a token once: the first time stays; unknown tokens are false', async () => {
        await store.addToken(token('t1', T0));
        expect(await store.revokeToken('t1', T0 + 100)).toBe(true);
        expect(await store.revokeToken('t1', T0 + 200)).toBe(true);
        expect((await store.getToken('t1'))?.revokedAt).toBe(T0 + 100);
        expect(await store.revokeToken('nope', T0)).toBe(false);
      });

      it('refuses a second token with the same id or hash', async () => {
        await store.addToken(token('t1', T0));
        await expect(
          refused(() => store.addToken(token('t2', T0, { hash: 'hash-t1' }))),
        ).rejects.toThrow();
        await expect(
          refused(() => store.addToken(token('t1', T0, { hash: 'other' }))),
        ).rejects.toThrow();
        expect((await store.listTokens()).map((t) => t.id)).toEqual(['t1']);
      });
    });

    describe('audit log', () => {
      it('lists entries newest first, of one tenant or all, a page at a time', async () => {
        const values: [unknown, unknown][] = [
          [null, { id: 'acme', limits: LIMITS }],
          [{ name: 'a' }, { name: 'b' }],
          [undefined, ['x', 1, true]],
          ['before', null],
          [{ nested: { z: 1, a: [null] } }, 42],
        ];
        for (const [index, [before, after]] of values.entries()) {
          await store.appendAudit({
            at: T0 + index,
            actor: `ci (token t${index})`,
            action: index === 0 ? 'tenant.create' : 'app.update',
            target: `app:a${index}`,
            tenantId: index % 2 === 0 ? 'acme' : null,
            before,
            after,
          });
        }
        const all = await store.listAudit({ limit: 10 });
        expect(all.map((entry) => entry.at)).toEqual([4, 3, 2, 1, 0].map((i) => T0 + i));
        expect(all.map((entry) => entry.id)).toEqual(
          [...all.map((entry) => entry.id)].sort((a, b) => b - a),
        );
        expect(all[4]).toEqual({
          id: all[4]?.id,
          at: T0,
          actor: 'ci (token t0)',
          action: 'tenant.create',
          target: 'app:a0',
          tenantId: 'acme',
          before: null,
          after: { id: 'acme', limits: LIMITS },
        });
        expect(all.map((entry) => [entry.before, entry.after])).toEqual(
          [...values].reverse().map(([before, after]) => [before ?? null, after ?? null]),
        );
        expect(JSON.stringify(all[4]?.after)).toBe(JSON.stringify({ id: 'acme', limits: LIMITS }));

        const acme = await store.listAudit({ tenantId: 'acme', limit: 10 });
        expect(acme.map((entry) => entry.target)).toEqual(['app:a4', 'app:a2', 'app:a0']);

        const firstPage = await store.listAudit({ limit: 2 });
        expect(firstPage.map((entry) => entry.target)).toEqual(['app:a4', 'app:a3']);
        const secondPage = await store.listAudit({ limit: 2, beforeId: firstPage[1]?.id });
        expect(secondPage.map((entry) => entry.target)).toEqual(['app:a2', 'app:a1']);
        const acmePage = await store.listAudit({
          tenantId: 'acme',
          beforeId: acme[0]?.id,
          limit: 1,
        });
        expect(acmePage.map((entry) => entry.target)).toEqual(['app:a2']);
        expect(await store.listAudit({ tenantId: 'nobody', limit: 10 })).toEqual([]);
      });
    });

    describe('version counter', () => {
      it('increases by one with every change of tenants, apps and keys', async () => {
        const changes: [string, () => Promise<unknown>][] = [
          ['createTenant', () => store.createTenant({ id: 'acme', name: 'a', source: 'api' })],
          ['updateTenant', () => store.updateTenant('acme', { name: 'ACME' })],
          [
            'createApp',
            () => store.createApp({ id: 'shop', tenantId: 'acme', name: 's', source: 'api' }),
          ],
          ['updateApp', () => store.updateApp('shop', { samplingRate: 0.1 })],
          ['addKey', () => store.addKey(key('shop', 'pk_1', T0))],
          ['expireKeys', () => store.expireKeys('shop', T0 + 1, 'pk_none')],
          ['deleteKey', () => store.deleteKey('pk_1')],
          ['deleteApp', () => store.deleteApp('shop')],
          ['deleteTenant', () => store.deleteTenant('acme')],
        ];
        const steps: [string, number][] = [];
        for (const [name, change] of changes) {
          const before = await store.version();
          await change();
          steps.push([name, (await store.version()) - before]);
        }
        expect(steps).toEqual(changes.map(([name]) => [name, 1]));
      });

      it('stays for tokens, the audit log, and changes that find nothing', async () => {
        const start = await store.version();
        await store.addToken(token('t1', T0));
        await store.revokeToken('t1', T0);
        await store.appendAudit({
          at: T0,
          actor: 'a',
          action: 'x',
          target: 'y',
          tenantId: null,
          before: null,
          after: null,
        });
        await store.updateTenant('nope', { name: 'x' });
        await store.updateApp('nope', { name: 'x' });
        await store.deleteTenant('nope');
        await store.deleteApp('nope');
        await store.deleteKey('nope');
        await expect(
          refused(() => store.createApp({ id: 'x', tenantId: 'nope', name: 'x', source: 'api' })),
        ).rejects.toThrow();
        expect(await store.version()).toBe(start);
      });
    });

    describe('snapshot', () => {
      it('holds the version and every tenant, app and key', async () => {
        await tenantWithApp('acme', 'shop');
        await tenantWithApp('beta', 'blog');
        await store.addKey(key('shop', 'pk_2', T0 + 1));
        await store.addKey(key('blog', 'pk_1', T0));
        await store.addKey(key('shop', 'pk_0', T0));
        const snapshot = await store.snapshot();
        expect(snapshot).toEqual({
          version: await store.version(),
          tenants: await store.listTenants(),
          apps: await store.listApps(),
          keys: [key('blog', 'pk_1', T0), key('shop', 'pk_0', T0), key('shop', 'pk_2', T0 + 1)],
        });
        expect(snapshot.version).toBe(7);
      });
    });

    describe('transactions', () => {
      it('commits the work and returns its result', async () => {
        const result = await store.transaction(async () => {
          await tenantWithApp();
          await store.addKey(key('shop', 'pk_1', T0));
          return 'done';
        });
        expect(result).toBe('done');
        expect(await store.findKey('pk_1')).toBeDefined();
        expect(await store.version()).toBe(3);
      });

      it('rolls everything back when the work throws, and rethrows the same error', async () => {
        await store.createTenant({ id: 'kept', name: 'kept', source: 'api' });
        const failure = new Error('half-way');
        await expect(
          store.transaction(async () => {
            await tenantWithApp();
            await store.updateTenant('kept', { name: 'changed' });
            await store.deleteTenant('kept');
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect(await store.getTenant('acme')).toBeUndefined();
        expect(await store.getApp('shop')).toBeUndefined();
        expect((await store.getTenant('kept'))?.name).toBe('kept');
        expect(await store.version()).toBe(1);
        // The store is still usable afterwards.
        await store.createTenant({ id: 'after', name: 'after', source: 'api' });
        expect(await store.version()).toBe(2);
      });

      it('joins nested transactions to the outer one', async () => {
        await expect(
          store.transaction(async () => {
            await store.createTenant({ id: 'acme', name: 'acme', source: 'api' });
            await store.transaction(() =>
              store.createApp({ id: 'shop', tenantId: 'acme', name: 'shop', source: 'api' }),
            );
            // The inner transaction's write is visible here, and rolled back with the outer one.
            expect(await store.getApp('shop')).toBeDefined();
            throw new Error('outer fails');
          }),
        ).rejects.toThrow('outer fails');
        expect(await store.getApp('shop')).toBeUndefined();

        await store.transaction(() =>
          store.transaction(() => store.createTenant({ id: 'x', name: 'x', source: 'api' })),
        );
        expect(await store.getTenant('x')).toBeDefined();
      });

      it('serialises concurrent transactions: no lost update', async () => {
        await store.createTenant({ id: 'counter', name: '0', source: 'api' });
        await Promise.all(
          Array.from({ length: 8 }, () =>
            store.transaction(async () => {
              const current = Number((await store.getTenant('counter'))?.name);
              await sleep(2); // let the others run if they could
              await store.updateTenant('counter', { name: String(current + 1) });
            }),
          ),
        );
        expect((await store.getTenant('counter'))?.name).toBe('8');
        expect(await store.version()).toBe(9);
      });

      it('sees its own writes in a snapshot taken inside it', async () => {
        await store.transaction(async () => {
          await tenantWithApp();
          const snapshot = await store.snapshot();
          expect(snapshot.apps.map((app) => app.id)).toEqual(['shop']);
          expect(snapshot.version).toBe(2);
        });
      });
    });

    describe('the registry cache on this store', () => {
      let registry: Registry;
      beforeEach(async () => {
        registry = new Registry(store, { clock });
        await registry.refresh(true);
      });

      it('resolves keys synchronously, honouring rotation grace and cascading deletes', async () => {
        await registry.createTenant({ id: 'acme' });
        const { app, key: first } = await registry.createApp({
          tenantId: 'acme',
          name: 'shop',
          allowedOrigins: ['https://shop.example'],
        });
        expect(registry.resolveKey(first.key)?.app).toEqual(app);
        const { key: second } = await registry.rotateKey('shop', 60_000);
        expect(registry.resolveKey(first.key)).toBeDefined();
        now += 60_000;
        expect(registry.resolveKey(first.key)).toBeUndefined();
        expect(registry.isExpiredKey(first.key)).toBe(true);
        expect(registry.resolveKey(second.key)?.tenant.id).toBe('acme');

        await store.deleteTenant('acme');
        await registry.refresh();
        expect(registry.resolveKey(second.key)).toBeUndefined();
        expect(registry.cachedApp('shop')).toBeUndefined();
      });

      it('lets one of two concurrent creations of an id win; the other is a CONFLICT', async () => {
        const results = await Promise.allSettled([
          registry.createTenant({ id: 'acme', name: 'one' }),
          registry.createTenant({ id: 'acme', name: 'two' }),
          registry.createTenant({ id: 'acme', name: 'three' }),
        ]);
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') {
            expect(result.reason).toMatchObject({ code: 'PHAROS_ERR_CONFLICT' });
          }
        }
      });

      it('reloads only when the version changed, and sees changes made through another connection', async () => {
        const other = await database.open({ clock });
        let reloads = 0;
        const replica = new Registry(other, { clock, onReload: () => void reloads++ });
        await replica.refresh(true);
        await replica.refresh();
        expect(reloads).toBe(1);

        await registry.createTenant({ id: 'acme' });
        const { key: created } = await registry.createApp({ tenantId: 'acme', name: 'shop' });
        expect(replica.resolveKey(created.key)).toBeUndefined();
        await replica.refresh();
        expect(replica.resolveKey(created.key)?.app.id).toBe('shop');
        expect(reloads).toBe(2);
      });

      it('follows changes made through another connection', async () => {
        const other = await database.open({ clock });
        const replica = new Registry(other, { clock });
        await replica.refresh(true);
        const errors: unknown[] = [];
        // SQLite polls every 100 ms; PostgreSQL is notified (its safety poll never fires here).
        const follower = await followRegistryChanges(replica, {
          pollIntervalMs: 100,
          safetyPollIntervalMs: 60_000,
          onError: (error) => errors.push(error),
        });
        try {
          expect(follower.mode).toBe(other.subscribe ? 'notify' : 'poll');
          await registry.createTenant({ id: 'acme' });
          const { key: created } = await registry.createApp({ tenantId: 'acme', name: 'shop' });
          await eventually(() => replica.resolveKey(created.key) !== undefined, 2_000);
          await registry.store.deleteApp('shop');
          await eventually(() => replica.resolveKey(created.key) === undefined, 2_000);
          expect(errors).toEqual([]);
        } finally {
          await follower.stop();
        }
      });
    });

    describe('reconciling to the declarative config', () => {
      let registry: Registry;
      beforeEach(async () => {
        registry = new Registry(store, { clock });
        await registry.refresh(true);
      });
      const acme = (apps: unknown[], extra: object = {}) => [
        { id: 'acme', name: 'ACME', ...extra, apps },
      ];

      it('creates declared objects with every setting, then is a no-op', async () => {
        const tenants = declared(
          acme(
            [
              {
                id: 'shop',
                allowedOrigins: ['https://shop.acme.example'],
                keys: ['pk_shop_key_0001'],
                environments: ['production'],
                samplingRate: 0.5,
                tracePropagationUrls: ['^https://api\\.acme\\.example/'],
                ignoreUrls: ['/health'],
                limits: LIMITS,
              },
            ],
            { orgId: 'acme-org', limits: LIMITS, sinks: { loki: { url: 'http://loki:3100' } } },
          ),
        );
        const first = await reconcileRegistry(registry, tenants, clock);
        expect(first.created).toEqual(['tenant acme', 'app shop', 'key pk_sho…0001 of app shop']);
        expect(registry.resolveKey('pk_shop_key_0001')?.app).toMatchObject({
          id: 'shop',
          source: 'config',
          samplingRate: 0.5,
          environments: ['production'],
          limits: LIMITS,
        });
        expect(registry.cachedTenant('acme')).toMatchObject({ orgId: 'acme-org', limits: LIMITS });
        const version = await store.version();
        expect(await reconcileRegistry(registry, tenants, clock)).toEqual({
          created: [],
          updated: [],
          deleted: [],
        });
        expect(await store.version()).toBe(version);
      });

      it('updates, swaps keys and deletes what is no longer declared; API objects stay', async () => {
        await registry.createTenant({ id: 'manual' });
        const { key: manualKey } = await registry.createApp({ tenantId: 'manual', name: 'tool' });
        await reconcileRegistry(
          registry,
          declared(
            acme([
              { id: 'shop', keys: ['pk_shop_key_0001'] },
              { id: 'blog', keys: ['pk_blog_key_0001'] },
            ]),
          ),
          clock,
        );
        const report = await reconcileRegistry(
          registry,
          declared(acme([{ id: 'shop', name: 'Shop', keys: ['pk_shop_key_0002'] }])),
          clock,
        );
        expect(report).toEqual({
          created: ['key pk_sho…0002 of app shop'],
          updated: ['app shop'],
          deleted: ['key pk_sho…0001 of app shop', 'app blog'],
        });
        expect(registry.resolveKey('pk_shop_key_0001')).toBeUndefined();
        expect(registry.resolveKey('pk_shop_key_0002')?.app.name).toBe('Shop');
        expect(registry.resolveKey('pk_blog_key_0001')).toBeUndefined();

        await reconcileRegistry(registry, declared([]), clock);
        expect(await store.getTenant('acme')).toBeUndefined();
        expect(registry.resolveKey(manualKey.key)?.app.id).toBe('tool');
      });

      it('changes nothing when it fails half-way', async () => {
        await reconcileRegistry(
          registry,
          declared(acme([{ id: 'shop', keys: ['pk_shop_key_0001'] }])),
          clock,
        );
        await registry.createTenant({ id: 'manual' });
        const { key: toolKey } = await registry.createApp({ tenantId: 'manual', name: 'tool' });
        const version = await store.version();
        await expect(
          reconcileRegistry(
            registry,
            declared([
              { id: 'new', apps: [{ id: 'fresh', keys: ['pk_fresh_0001'] }] },
              { id: 'acme', apps: [{ id: 'shop', keys: [toolKey.key] }] },
            ]),
            clock,
          ),
        ).rejects.toMatchObject({ code: 'PHAROS_ERR_CONFIG_INVALID' });
        expect(await store.getTenant('new')).toBeUndefined();
        expect(await store.version()).toBe(version);
        expect(registry.resolveKey('pk_shop_key_0001')?.app.id).toBe('shop');
      });
    });
  });
}
