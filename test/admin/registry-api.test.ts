import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_CACHE_MS } from '../../src/admin/auth.js';
import { startAdminHarness, type AdminHarness } from './support.js';

interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  target: string;
  tenantId: string | null;
  before: unknown;
  after: unknown;
}

describe('admin API: tenants, apps, keys, tokens, limits, audit', () => {
  let h: AdminHarness;
  const audit = async (query = '') =>
    (await h.ok<{ entries: AuditEntry[] }>('GET', `/api/v1/audit?limit=500${query}`)).entries;

  beforeAll(async () => {
    h = await startAdminHarness();
  });
  afterAll(() => h.pharos.stop());

  it('creates a tenant with org id, sink overrides and limits, validated like the config file', async () => {
    const created = await h.call('POST', '/api/v1/tenants', {
      id: 'acme',
      name: 'ACME',
      orgId: 'acme-org',
      sinks: { loki: { url: 'http://loki:3100', headers: { authorization: 'Basic c2VjcmV0' } } },
      limits: { requests: { perSecond: 50, burst: 100 } },
    });
    expect(created).toMatchObject({
      status: 201,
      body: { id: 'acme', orgId: 'acme-org', limits: { requests: { perSecond: 50, burst: 100 } } },
    });
    const badSinks = await h.call('POST', '/api/v1/tenants', {
      id: 'bad',
      sinks: { loki: { format: 'xml' } },
    });
    expect(badSinks).toMatchObject({ status: 400, body: { code: 'PHAROS_ERR_INVALID_REQUEST' } });
    expect(badSinks.body.message).toMatch(/sinks/);
    const badLimits = await h.call('POST', '/api/v1/tenants', {
      id: 'bad',
      limits: { requests: { perSecond: 0, burst: 1 } },
    });
    expect(badLimits.status).toBe(400);
    expect(await h.call('GET', '/api/v1/tenants/bad')).toMatchObject({ status: 404 });
  });

  it('changes a tenant: each field given replaces the current value', async () => {
    const patched = await h.ok<{ name: string; orgId: string | null; sinks: unknown }>(
      'PATCH',
      '/api/v1/tenants/acme',
      { name: 'ACME Corp', orgId: null, sinks: {} },
    );
    expect(patched).toMatchObject({ name: 'ACME Corp', orgId: null, sinks: {} });
    expect(await h.call('PATCH', '/api/v1/tenants/acme', {})).toMatchObject({ status: 400 });
  });

  it('creates an app with every setting, and refuses settings that cannot work', async () => {
    const app = await h.ok<{ key: string; samplingRate: number; allowedOrigins: string[] }>(
      'POST',
      '/api/v1/apps',
      {
        tenantId: 'acme',
        id: 'shop',
        name: 'Shop',
        allowedOrigins: ['HTTPS://Shop.Acme.Example:443/'],
        environments: ['production', 'staging'],
        samplingRate: 0.25,
        tracePropagationUrls: ['^https://api\\.acme\\.example/'],
        ignoreUrls: ['/health$'],
        limits: { kinds: { log: { perSecond: 10, burst: 10 } } },
      },
    );
    expect(app).toMatchObject({
      samplingRate: 0.25,
      allowedOrigins: ['https://shop.acme.example'],
    });
    expect(await h.ingest(app.key)).toBe(202);
    const badPattern = await h.call('PATCH', '/api/v1/apps/shop', { ignoreUrls: ['(unclosed'] });
    expect(badPattern).toMatchObject({ status: 400 });
    expect(badPattern.body.message).toMatch(/ignoreUrls.*not a regular expression/);
    expect(await h.call('PATCH', '/api/v1/apps/shop', { samplingRate: 1.5 })).toMatchObject({
      status: 400,
    });
    expect(await h.call('PATCH', '/api/v1/apps/shop', { tenantId: 'other' })).toMatchObject({
      status: 400,
    });
    const updated = await h.ok<{ samplingRate: number; environments: string[] }>(
      'PATCH',
      '/api/v1/apps/shop',
      { samplingRate: 0.5, environments: [] },
    );
    expect(updated).toMatchObject({ samplingRate: 0.5, environments: [] });
  });

  it('rotates without a body: the configured grace applies', async () => {
    const rotated = await h.ok<{ previousKeysExpireAt: string }>(
      'POST',
      '/api/v1/apps/shop/keys/rotate',
    );
    expect(Date.parse(rotated.previousKeysExpireAt)).toBe(h.now() + 24 * 3_600_000);
  });

  it('revokes one key at once while the others keep working', async () => {
    const rotated = await h.ok<{ key: string }>('POST', '/api/v1/apps/shop/keys/rotate', {
      grace: '1h',
    });
    const { keys } = await h.ok<{ keys: { key: string }[] }>('GET', '/api/v1/apps/shop/keys');
    const old = keys[0]?.key as string;
    expect(await h.ingest(old)).toBe(202);
    const revoked = await h.ok<{ keys: { key: string }[] }>(
      'DELETE',
      `/api/v1/apps/shop/keys/${old}`,
    );
    expect(revoked.keys.map((key) => key.key)).toContain(rotated.key);
    expect(revoked.keys.map((key) => key.key)).not.toContain(old);
    expect(await h.ingest(old)).toBe(401);
    expect(await h.ingest(rotated.key)).toBe(202);
    expect(await h.call('DELETE', `/api/v1/apps/shop/keys/${old}`)).toMatchObject({
      status: 404,
    });
  });

  it('shows a token once; lists never hold it or its hash; revocation takes effect at once', async () => {
    const created = await h.token('ci', ['tenant:acme']);
    expect(created.token).toMatch(/^pha_[A-Za-z0-9]{40}$/);
    const hash = createHash('sha256').update(created.token).digest('hex');
    // Used once, so that it sits in the authenticator's cache.
    expect((await h.call('GET', '/api/v1/apps/shop', undefined, created.token)).status).toBe(200);
    for (const path of ['/api/v1/tokens', `/api/v1/tokens/${created.id}`, '/api/v1/audit']) {
      const { text } = await h.call('GET', path);
      expect(text, path).not.toContain(created.token);
      expect(text, path).not.toContain(hash);
      expect(text, path).not.toContain('"hash"');
    }
    const revoked = await h.ok<{ revokedAt: number | null }>(
      'DELETE',
      `/api/v1/tokens/${created.id}`,
    );
    expect(revoked.revokedAt).toBe(h.now());
    expect(await h.call('GET', '/api/v1/apps/shop', undefined, created.token)).toMatchObject({
      status: 401,
      body: { code: 'PHAROS_ERR_UNAUTHORIZED' },
    });
  });

  it('refuses a token after its expiry, cached or not', async () => {
    const created = await h.token('short', ['tenant:acme'], { expiresIn: '1h' });
    expect(created.expiresAt).toBe(h.now() + 3_600_000);
    expect((await h.call('GET', '/api/v1/tenants/acme', undefined, created.token)).status).toBe(
      200,
    );
    h.advance(3_600_000);
    expect((await h.call('GET', '/api/v1/tenants/acme', undefined, created.token)).status).toBe(
      401,
    );
    expect(
      await h.call('POST', '/api/v1/tokens', {
        name: 'past',
        scopes: ['admin'],
        expiresAt: '2020-01-01T00:00:00Z',
      }),
    ).toMatchObject({ status: 400 });
    expect(TOKEN_CACHE_MS).toBeLessThanOrEqual(5_000);
  });

  it('refuses tokens for tenants or apps that do not exist (a token cannot wait for an id)', async () => {
    expect(
      await h.call('POST', '/api/v1/tokens', { name: 'x', scopes: ['tenant:ghost'] }),
    ).toMatchObject({ status: 404 });
    expect(
      await h.call('POST', '/api/v1/tokens', { name: 'x', scopes: ['sourcemaps:ghost'] }),
    ).toMatchObject({ status: 404 });
    expect(await h.call('POST', '/api/v1/tokens', { name: 'x', scopes: ['root'] })).toMatchObject({
      status: 400,
    });
  });

  it('shows own, default and effective limits; an admin replaces them', async () => {
    const tenant = await h.ok<{ limits: unknown; effective: unknown }>(
      'PUT',
      '/api/v1/tenants/acme/limits',
      { items: { perSecond: 500, burst: 1000 } },
    );
    expect(tenant).toMatchObject({
      limits: { items: { perSecond: 500, burst: 1000 } },
      effective: { items: { perSecond: 500, burst: 1000 } },
    });
    const app = await h.ok<{ limits: unknown }>('GET', '/api/v1/apps/shop/limits');
    expect(app.limits).toEqual({ kinds: { log: { perSecond: 10, burst: 10 } } });
    expect(
      await h.call('PUT', '/api/v1/apps/shop/limits', { requests: { perSecond: -1, burst: 1 } }),
    ).toMatchObject({ status: 400 });
    expect(await h.ok('PUT', '/api/v1/apps/shop/limits', {})).toMatchObject({ limits: {} });
  });

  it('deletes an app: its keys stop working and its source-map tokens are revoked', async () => {
    const created = await h.ok<{ key: string }>('POST', '/api/v1/apps', {
      tenantId: 'acme',
      id: 'blog',
      name: 'Blog',
    });
    const ci = await h.token('ci-blog', ['sourcemaps:blog']);
    const upload = await fetch(`${h.pharos.internalUrl}/app/blog/sourcemaps/v1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ci.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        version: 3,
        file: 'a.js',
        sources: ['a.ts'],
        names: [],
        mappings: 'AAAA',
      }),
    });
    expect(upload.status).toBe(201);
    const deleted = await h.ok<{ revokedTokens: string[] }>('DELETE', '/api/v1/apps/blog');
    expect(deleted.revokedTokens).toEqual([ci.id]);
    expect(await h.ingest(created.key)).toBe(401);
    // Recreated with the same id, the app does not inherit the old maps or tokens.
    await h.ok('POST', '/api/v1/apps', { tenantId: 'acme', id: 'blog', name: 'Blog again' });
    expect(await h.ok('GET', '/api/v1/apps/blog/sourcemaps')).toEqual({ sourcemaps: [] });
    expect((await h.call('GET', '/api/v1/apps/blog/sourcemaps', undefined, ci.token)).status).toBe(
      401,
    );
  });

  it('deletes a tenant with its apps only on cascade, and revokes its tokens', async () => {
    await h.ok('POST', '/api/v1/tenants', { id: 'gone' });
    const app = await h.ok<{ key: string }>('POST', '/api/v1/apps', {
      tenantId: 'gone',
      id: 'gone-app',
      name: 'x',
    });
    const tenantToken = await h.token('gone admin', ['tenant:gone']);
    expect(await h.call('DELETE', '/api/v1/tenants/gone')).toMatchObject({
      status: 409,
      body: { code: 'PHAROS_ERR_CONFLICT' },
    });
    const deleted = await h.ok<{ apps: string[]; revokedTokens: string[] }>(
      'DELETE',
      '/api/v1/tenants/gone?cascade=true',
    );
    expect(deleted).toMatchObject({ apps: ['gone-app'], revokedTokens: [tenantToken.id] });
    expect(await h.ingest(app.key)).toBe(401);
    await h.ok('POST', '/api/v1/tenants', { id: 'gone' });
    expect((await h.call('GET', '/api/v1/tenants/gone', undefined, tenantToken.token)).status).toBe(
      401,
    );
  });

  it('writes one audit entry per change: actor, action, target, tenant, before and after, no secrets', async () => {
    const entries = await audit();
    const actions = entries.map((entry) => entry.action).reverse();
    expect(actions.slice(0, 6)).toEqual([
      'token.create', // the admin-token file, at first start
      'tenant.create',
      'tenant.update',
      'app.create',
      'app.update',
      'key.rotate',
    ]);
    for (const action of [
      'key.revoke',
      'token.revoke',
      'limits.update',
      'app.delete',
      'tenant.delete',
    ])
      expect(actions).toContain(action);
    const update = entries.find((entry) => entry.action === 'app.update');
    expect(update).toMatchObject({
      actor: expect.stringMatching(/^local admin \(admin-token file\) \(token \w+\)$/) as string,
      target: 'app:shop',
      tenantId: 'acme',
      before: { samplingRate: 0.25 },
      after: { samplingRate: 0.5 },
    });
    const text = JSON.stringify(entries);
    expect(text).not.toContain('c2VjcmV0'); // the Loki header value of acme's first sinks
    expect(text).not.toContain(h.pharos.adminToken);
    expect(text).not.toMatch(/"hash"|pha_[A-Za-z0-9]{40}/);
    // Refused changes write nothing.
    const count = entries.length;
    await h.call('POST', '/api/v1/tenants', { id: 'acme' });
    await h.call('PATCH', '/api/v1/apps/shop', { ignoreUrls: ['('] });
    expect((await audit()).length).toBe(count);
  });

  it('pages the audit log back in time and filters it by tenant', async () => {
    const all = await audit();
    const first = await h.ok<{ entries: AuditEntry[]; nextBefore: number | null }>(
      'GET',
      '/api/v1/audit?limit=2',
    );
    expect(first.entries.map((entry) => entry.id)).toEqual(all.slice(0, 2).map((e) => e.id));
    const second = await h.ok<{ entries: AuditEntry[] }>(
      'GET',
      `/api/v1/audit?limit=2&before=${first.nextBefore ?? 0}`,
    );
    expect(second.entries.map((entry) => entry.id)).toEqual(all.slice(2, 4).map((e) => e.id));
    const acme = await audit('&tenant=acme');
    expect(acme.length).toBeGreaterThan(3);
    expect(acme.every((entry) => entry.tenantId === 'acme')).toBe(true);
  });
});

describe('objects managed by the config file', () => {
  let h: AdminHarness;

  beforeAll(async () => {
    h = await startAdminHarness({
      tenants: [{ id: 'declared', apps: [{ id: 'declared-app', keys: ['pk_declared_0001'] }] }],
    });
  });
  afterAll(() => h.pharos.stop());

  it('refuse every change through the API with 409, and nothing is audited', async () => {
    const before = (await h.ok<{ entries: unknown[] }>('GET', '/api/v1/audit?limit=500')).entries;
    const changes: [string, string, unknown?][] = [
      ['PATCH', '/api/v1/tenants/declared', { name: 'x' }],
      ['PUT', '/api/v1/tenants/declared/limits', {}],
      ['DELETE', '/api/v1/tenants/declared?cascade=true'],
      ['PATCH', '/api/v1/apps/declared-app', { samplingRate: 0.1 }],
      ['PUT', '/api/v1/apps/declared-app/limits', {}],
      ['POST', '/api/v1/apps/declared-app/keys/rotate', { grace: '0s' }],
      ['DELETE', '/api/v1/apps/declared-app/keys/pk_declared_0001'],
      ['DELETE', '/api/v1/apps/declared-app'],
    ];
    for (const [method, path, body] of changes) {
      const answer = await h.call(method, path, body);
      expect(answer, `${method} ${path}`).toMatchObject({
        status: 409,
        body: { code: 'PHAROS_ERR_CONFLICT' },
      });
      expect(answer.body.message).toMatch(/managed by the config file/);
    }
    expect((await h.ok<{ entries: unknown[] }>('GET', '/api/v1/audit?limit=500')).entries).toEqual(
      before,
    );
    expect(await h.ingest('pk_declared_0001')).toBe(202);
  });
});
