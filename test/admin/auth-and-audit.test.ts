import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TOKEN_CACHE_MS, createAuthenticator } from '../../src/admin/auth.js';
import { effectiveLimits } from '../../src/admin/limits.js';
import { Registry, openSqliteRegistry, type RegistryStore } from '../../src/registry/index.js';

const request = (token: string) =>
  ({ headers: { authorization: `Bearer ${token}` } }) as unknown as FastifyRequest;

describe('the authenticator', () => {
  let dir: string;
  let registry: Registry;
  let now: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-auth-'));
    now = 1_800_000_000_000;
    registry = new Registry(
      openSqliteRegistry(join(dir, 'registry.db'), () => now),
      {
        clock: () => now,
      },
    );
    await registry.refresh(true);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await registry.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the token (name, id, scopes, expiry) and caches it by hash', async () => {
    const { token, record } = await registry.createToken('ci', ['tenant:acme'], {
      expiresAt: now + 60_000,
    });
    const auth = createAuthenticator({ registry, staticToken: '' });
    expect(await auth.authenticate(request(token))).toEqual({
      name: 'ci',
      tokenId: record.id,
      scopes: ['tenant:acme'],
      expiresAt: now + 60_000,
    });
  });

  it('forgets a revocation made elsewhere within TOKEN_CACHE_MS, and at once on forget()', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { token, record } = await registry.createToken('ci', ['admin']);
    const auth = createAuthenticator({ registry, staticToken: '' });
    await auth.authenticate(request(token));
    // Revoked in the database directly (another replica): the cache still trusts it, briefly.
    await registry.store.revokeToken(record.id, now);
    await expect(auth.authenticate(request(token))).resolves.toBeDefined();
    vi.advanceTimersByTime(TOKEN_CACHE_MS + 1);
    await expect(auth.authenticate(request(token))).rejects.toMatchObject({
      code: 'PHAROS_ERR_UNAUTHORIZED',
    });

    const second = await registry.createToken('ci2', ['admin']);
    await auth.authenticate(request(second.token));
    await registry.store.revokeToken(second.record.id, now);
    auth.forget();
    await expect(auth.authenticate(request(second.token))).rejects.toMatchObject({
      code: 'PHAROS_ERR_UNAUTHORIZED',
    });
  });

  it('accepts the configured admin token as admin', async () => {
    const auth = createAuthenticator({ registry, staticToken: 'a-very-long-static-admin-token' });
    expect(await auth.authenticate(request('a-very-long-static-admin-token'))).toMatchObject({
      name: 'admin.token',
      tokenId: null,
      scopes: ['admin'],
    });
    await expect(auth.authenticate(request('a-very-long-static-admin-tokeN'))).rejects.toThrow();
  });
});

describe('the audit log is written in the transaction of the change', () => {
  it('a change whose audit entry cannot be written does not happen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-audit-'));
    const store = openSqliteRegistry(join(dir, 'registry.db'));
    let failAudit = false;
    const failing: RegistryStore = {
      ...store,
      appendAudit: (entry) =>
        failAudit ? Promise.reject(new Error('disk full')) : store.appendAudit(entry),
    };
    const registry = new Registry(failing);
    try {
      await registry.refresh(true);
      await registry.createTenant({ id: 'acme' });
      await registry.createApp({ tenantId: 'acme', id: 'shop', name: 'Shop' });
      failAudit = true;
      await expect(registry.updateApp('shop', { samplingRate: 0.1 })).rejects.toThrow('disk full');
      await expect(
        registry.createApp({ tenantId: 'acme', id: 'blog', name: 'b' }),
      ).rejects.toThrow();
      await expect(registry.deleteTenant('acme', { cascade: true })).rejects.toThrow();
      expect((await store.getApp('shop'))?.samplingRate).toBe(1);
      expect(await store.getApp('blog')).toBeUndefined();
      expect(await store.getTenant('acme')).toBeDefined();
      failAudit = false;
      expect((await store.listAudit({ limit: 10 })).map((entry) => entry.action)).toEqual([
        'app.create',
        'tenant.create',
      ]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('effective limits', () => {
  it('own limits replace the defaults field by field, and kinds kind by kind', () => {
    const defaults = {
      requests: { perSecond: 1000, burst: 2000 },
      items: { perSecond: 10, burst: 10 },
      kinds: { log: { perSecond: 5, burst: 5 }, span: { perSecond: 7, burst: 7 } },
    };
    expect(
      effectiveLimits(defaults, {
        requests: { perSecond: 1, burst: 1 },
        kinds: { log: { perSecond: 2, burst: 2 } },
      }),
    ).toEqual({
      requests: { perSecond: 1, burst: 1 },
      items: { perSecond: 10, burst: 10 },
      kinds: { log: { perSecond: 2, burst: 2 }, span: { perSecond: 7, burst: 7 } },
    });
    expect(effectiveLimits({}, {})).toEqual({});
  });
});
