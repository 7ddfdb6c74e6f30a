import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../config/index.js';
import { Registry, openSqliteRegistry, reconcileRegistry } from './index.js';

function declared(tenants: unknown) {
  return validateConfig({ tenants }).tenants;
}

describe('registry', () => {
  let now: number;
  let registry: Registry;

  beforeEach(async () => {
    now = 1_800_000_000_000;
    const clock = () => now;
    registry = new Registry(
      openSqliteRegistry(
        join(mkdtempSync(join(tmpdir(), 'pharos-registry-')), 'registry.db'),
        clock,
      ),
      { clock },
    );
    await registry.refresh(true);
  });

  it('resolves a new app key from the cache, synchronously', async () => {
    await registry.createTenant({ id: 'acme' });
    const { app, key } = await registry.createApp({
      tenantId: 'acme',
      name: 'Shop',
      id: 'shop',
      allowedOrigins: ['https://shop.acme.example'],
    });
    expect(key.key).toMatch(/^pk_[A-Za-z0-9]{32}$/);
    expect(registry.resolveKey(key.key)?.app).toEqual(app);
    expect(registry.resolveKey(key.key)?.tenant.id).toBe('acme');
    expect(registry.resolveKey('pk_unknown')).toBeUndefined();
  });

  it('gives the cached apps of one snapshot shared, frozen lists and limits where they are equal', async () => {
    await registry.createTenant({ id: 'acme' });
    const origins = ['https://shop.acme.example'];
    const limits = { requests: { perSecond: 5, burst: 10 } };
    await registry.createApp({ tenantId: 'acme', name: 'shop', allowedOrigins: origins, limits });
    await registry.createApp({ tenantId: 'acme', name: 'blog', allowedOrigins: origins, limits });
    await registry.createApp({ tenantId: 'acme', name: 'wiki', allowedOrigins: ['*'] });
    const [shop, blog, wiki] = ['shop', 'blog', 'wiki'].map((id) => registry.cachedApp(id)!);
    expect(shop!.allowedOrigins).toEqual(origins);
    expect(blog!.allowedOrigins).toBe(shop!.allowedOrigins);
    expect(blog!.limits).toBe(shop!.limits);
    expect(wiki!.allowedOrigins).toEqual(['*']);
    expect(wiki!.limits).toEqual({});
    expect(wiki!.environments).toBe(shop!.environments);
    expect(shop!.tenantId).toBe(registry.cachedTenant('acme')!.id);
    // Shared, so a write must fail rather than change the other apps.
    expect(Object.isFrozen(shop!.allowedOrigins)).toBe(true);
    expect(Object.isFrozen(shop!.limits.requests)).toBe(true);
    expect(() => shop!.allowedOrigins.push('https://evil.example')).toThrow(TypeError);

    // A change makes new objects for every app (the WeakMaps keyed by them see it), and the
    // changed app no longer shares what it changed.
    await registry.setAppLimits('blog', { requests: { perSecond: 1, burst: 1 } });
    const [shopAfter, blogAfter] = ['shop', 'blog'].map((id) => registry.cachedApp(id)!);
    expect(shopAfter).not.toBe(shop);
    expect(shopAfter!.allowedOrigins).not.toBe(shop!.allowedOrigins);
    expect(blogAfter!.allowedOrigins).toBe(shopAfter!.allowedOrigins);
    expect(blogAfter!.limits).toEqual({ requests: { perSecond: 1, burst: 1 } });
    expect(shopAfter!.limits).toEqual(limits);
  });

  it('keeps rotated keys valid for the grace period, then refuses them', async () => {
    await registry.createTenant({ id: 'acme' });
    const { key: first } = await registry.createApp({ tenantId: 'acme', name: 'shop' });
    const { key: second, previousKeysExpireAt } = await registry.rotateKey('shop', 60_000);
    expect(previousKeysExpireAt).toBe(now + 60_000);
    expect(registry.resolveKey(first.key)).toBeDefined();
    expect(registry.resolveKey(second.key)).toBeDefined();
    now += 60_000;
    expect(registry.resolveKey(first.key)).toBeUndefined();
    expect(registry.isExpiredKey(first.key)).toBe(true);
    expect(registry.resolveKey(second.key)).toBeDefined();
  });

  it('a second rotation does not extend the grace of an older key', async () => {
    await registry.createTenant({ id: 'acme' });
    const { key: first } = await registry.createApp({ tenantId: 'acme', name: 'shop' });
    await registry.rotateKey('shop', 10_000);
    now += 5_000;
    await registry.rotateKey('shop', 60_000);
    now += 5_000;
    expect(registry.resolveKey(first.key)).toBeUndefined();
  });

  it('refuses duplicate ids, unknown tenants and bad ids with precise errors', async () => {
    await registry.createTenant({ id: 'acme' });
    await expect(registry.createTenant({ id: 'acme' })).rejects.toMatchObject({
      code: 'PHAROS_ERR_CONFLICT',
    });
    await expect(registry.createApp({ tenantId: 'nope', name: 'x' })).rejects.toMatchObject({
      code: 'PHAROS_ERR_NOT_FOUND',
    });
    await expect(registry.createTenant({ id: 'Bad Id' })).rejects.toMatchObject({
      code: 'PHAROS_ERR_INVALID_REQUEST',
    });
    await expect(
      registry.createApp({ tenantId: 'acme', name: 'x', allowedOrigins: ['ftp://x'] }),
    ).rejects.toMatchObject({
      code: 'PHAROS_ERR_INVALID_REQUEST',
    });
  });

  it('sees changes made by another process once it polls', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pharos-registry-')), 'registry.db');
    const mine = new Registry(openSqliteRegistry(file));
    const theirs = new Registry(openSqliteRegistry(file));
    await mine.refresh(true);
    await theirs.createTenant({ id: 'acme' });
    const { key } = await theirs.createApp({ tenantId: 'acme', name: 'shop' });
    expect(mine.resolveKey(key.key)).toBeUndefined();
    await mine.refresh();
    expect(mine.resolveKey(key.key)?.app.id).toBe('shop');
  });
});

describe('reconciling to the declarative config', () => {
  let registry: Registry;

  beforeEach(async () => {
    registry = new Registry(
      openSqliteRegistry(join(mkdtempSync(join(tmpdir(), 'pharos-registry-')), 'registry.db')),
    );
    await registry.refresh(true);
  });

  const acme = (apps: unknown[]) => [{ id: 'acme', name: 'ACME', apps }];

  it('creates declared tenants, apps and keys, and is a no-op the second time', async () => {
    const tenants = declared(
      acme([
        { id: 'shop', allowedOrigins: ['https://shop.acme.example'], keys: ['pk_shop_key_0001'] },
      ]),
    );
    const first = await reconcileRegistry(registry, tenants);
    expect(first.created).toEqual(['tenant acme', 'app shop', 'key pk_sho…0001 of app shop']);
    expect(registry.resolveKey('pk_shop_key_0001')?.app).toMatchObject({
      id: 'shop',
      source: 'config',
      allowedOrigins: ['https://shop.acme.example'],
    });
    expect(await reconcileRegistry(registry, tenants)).toEqual({
      created: [],
      updated: [],
      deleted: [],
    });
  });

  it('updates changed apps, swaps keys, and deletes what is no longer declared', async () => {
    await reconcileRegistry(
      registry,
      declared(
        acme([
          { id: 'shop', keys: ['pk_shop_key_0001'] },
          { id: 'blog', keys: ['pk_blog_key_0001'] },
        ]),
      ),
    );
    const report = await reconcileRegistry(
      registry,
      declared(
        acme([
          {
            id: 'shop',
            name: 'Shop',
            allowedOrigins: ['https://a.example'],
            keys: ['pk_shop_key_0002'],
          },
        ]),
      ),
    );
    expect(report.updated).toEqual(['app shop']);
    expect(report.deleted).toEqual(['key pk_sho…0001 of app shop', 'app blog']);
    expect(registry.resolveKey('pk_shop_key_0001')).toBeUndefined();
    expect(registry.resolveKey('pk_shop_key_0002')?.app.name).toBe('Shop');
    expect(registry.resolveKey('pk_blog_key_0001')).toBeUndefined();
  });

  it('leaves objects created through the API alone', async () => {
    await registry.createTenant({ id: 'manual' });
    const { key } = await registry.createApp({ tenantId: 'manual', name: 'tool' });
    await reconcileRegistry(registry, declared(acme([{ id: 'shop', keys: ['pk_shop_key_0001'] }])));
    await reconcileRegistry(registry, declared([]));
    expect(registry.resolveKey(key.key)?.app.id).toBe('tool');
    expect(registry.resolveKey('pk_shop_key_0001')).toBeUndefined();
  });

  it('refuses a key declared for two apps, and apps moving between tenants', async () => {
    await expect(
      reconcileRegistry(
        registry,
        declared(
          acme([
            { id: 'a', keys: ['pk_same_key_01'] },
            { id: 'b', keys: ['pk_same_key_01'] },
          ]),
        ),
      ),
    ).rejects.toMatchObject({ code: 'PHAROS_ERR_CONFIG_INVALID' });
    await reconcileRegistry(registry, declared(acme([{ id: 'shop', keys: ['pk_shop_key_0001'] }])));
    await expect(
      reconcileRegistry(
        registry,
        declared([{ id: 'other', apps: [{ id: 'shop', keys: ['pk_shop_key_0001'] }] }]),
      ),
    ).rejects.toMatchObject({
      code: 'PHAROS_ERR_CONFIG_INVALID',
      message: expect.stringMatching(/cannot move between tenants/) as unknown,
    });
  });

  it('changes nothing when reconciliation fails half-way', async () => {
    await reconcileRegistry(registry, declared(acme([{ id: 'shop', keys: ['pk_shop_key_0001'] }])));
    await registry.createTenant({ id: 'manual' });
    await registry.createApp({ tenantId: 'manual', name: 'tool' });
    const toolKey = (await registry.store.listKeys('tool'))[0]?.key as string;
    // Valid first tenant, then a key that belongs to an API app: the whole change must roll back.
    await expect(
      reconcileRegistry(
        registry,
        declared([
          { id: 'new', apps: [{ id: 'fresh', keys: ['pk_fresh_0001'] }] },
          { id: 'acme', apps: [{ id: 'shop', keys: [toolKey] }] },
        ]),
      ),
    ).rejects.toMatchObject({ code: 'PHAROS_ERR_CONFIG_INVALID' });
    expect(await registry.store.getTenant('new')).toBeUndefined();
    expect(registry.resolveKey('pk_shop_key_0001')?.app.id).toBe('shop');
  });
});
