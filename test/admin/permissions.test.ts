import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness, type AdminHarness } from './support.js';

/** What a tenant admin (`tenant:<id>`) and a source-map token may do: docs/api.md, tested. */
describe('the tenant-admin permission model', () => {
  let h: AdminHarness;
  let acme: string;
  let acmeId: string;

  beforeAll(async () => {
    h = await startAdminHarness();
    await h.ok('POST', '/api/v1/tenants', { id: 'acme' });
    await h.ok('POST', '/api/v1/tenants', { id: 'globex' });
    await h.ok('POST', '/api/v1/apps', { tenantId: 'globex', id: 'globex-app', name: 'g' });
    const created = await h.token('acme admin', ['tenant:acme'], { expiresIn: '30d' });
    acme = created.token;
    acmeId = created.id;
  });
  afterAll(() => h.pharos.stop());

  const asAcme = (method: string, path: string, body?: unknown) => h.call(method, path, body, acme);

  it('reads its tenant and its limits; lists show only its own', async () => {
    expect((await asAcme('GET', '/api/v1/tenants/acme')).status).toBe(200);
    expect((await asAcme('GET', '/api/v1/tenants/acme/limits')).status).toBe(200);
    const listed = await asAcme('GET', '/api/v1/tenants');
    expect((listed.body.tenants as { id: string }[]).map((t) => t.id)).toEqual(['acme']);
  });

  it('creates, changes and deletes its apps, rotates and revokes their keys', async () => {
    const created = await asAcme('POST', '/api/v1/apps', {
      tenantId: 'acme',
      id: 'shop',
      name: 'Shop',
      samplingRate: 0.5,
    });
    expect(created.status).toBe(201);
    expect(
      (await asAcme('PATCH', '/api/v1/apps/shop', { allowedOrigins: ['https://a.example'] }))
        .status,
    ).toBe(200);
    const rotated = await asAcme('POST', '/api/v1/apps/shop/keys/rotate', { grace: '0s' });
    expect(rotated.status).toBe(201);
    expect(
      (await asAcme('DELETE', `/api/v1/apps/shop/keys/${String(created.body.key)}`)).status,
    ).toBe(200);
    expect((await asAcme('GET', '/api/v1/apps')).body.apps).toHaveLength(1);
    expect((await asAcme('GET', '/api/v1/apps/shop/limits')).status).toBe(200);
  });

  it('does not change tenants or limits', async () => {
    const refused: [string, string, unknown?][] = [
      ['POST', '/api/v1/tenants', { id: 'acme-two' }],
      ['PATCH', '/api/v1/tenants/acme', { name: 'mine now' }],
      ['PATCH', '/api/v1/tenants/acme', { orgId: 'globex' }],
      ['DELETE', '/api/v1/tenants/acme'],
      ['PUT', '/api/v1/tenants/acme/limits', {}],
      ['PUT', '/api/v1/apps/shop/limits', {}],
      ['PATCH', '/api/v1/apps/shop', { limits: { requests: { perSecond: 1e6, burst: 1e6 } } }],
      [
        'POST',
        '/api/v1/apps',
        {
          tenantId: 'acme',
          id: 'big',
          name: 'big',
          limits: { items: { perSecond: 1e6, burst: 1 } },
        },
      ],
    ];
    for (const [method, path, body] of refused) {
      expect(await asAcme(method, path, body), `${method} ${path}`).toMatchObject({
        status: 403,
        body: { code: 'PHAROS_ERR_FORBIDDEN' },
      });
    }
    expect((await h.ok<{ name: string }>('GET', '/api/v1/tenants/acme')).name).toBe('acme');
  });

  it('issues tokens within its tenant only, never outliving itself', async () => {
    const ci = await asAcme('POST', '/api/v1/tokens', { name: 'ci', scopes: ['sourcemaps:shop'] });
    expect(ci.status).toBe(201);
    // Without an expiry of its own, a token gets its maker's.
    const maker = await h.ok<{ expiresAt: number }>('GET', `/api/v1/tokens/${acmeId}`);
    expect(ci.body.expiresAt).toBe(maker.expiresAt);
    expect(
      (
        await asAcme('POST', '/api/v1/tokens', {
          name: 'peer',
          scopes: ['tenant:acme'],
          expiresIn: '1d',
        })
      ).status,
    ).toBe(201);
    const refused: unknown[] = [
      { name: 'x', scopes: ['admin'] },
      { name: 'x', scopes: ['tenant:globex'] },
      { name: 'x', scopes: ['sourcemaps:globex-app'] },
      { name: 'x', scopes: ['tenant:acme', 'tenant:globex'] },
      // Unknown ids are refused like other tenants' ones: nothing leaks.
      { name: 'x', scopes: ['tenant:nobody'] },
      { name: 'x', scopes: ['tenant:acme'], expiresIn: '365d' },
    ];
    for (const body of refused) {
      expect(await asAcme('POST', '/api/v1/tokens', body), JSON.stringify(body)).toMatchObject({
        status: 403,
      });
    }
  });

  it('lists and revokes its tenant’s tokens, not others’', async () => {
    const globex = await h.token('globex admin', ['tenant:globex']);
    const listed = await asAcme('GET', '/api/v1/tokens');
    const names = (listed.body.tokens as { name: string }[]).map((token) => token.name).sort();
    expect(names).toEqual(['acme admin', 'ci', 'peer']);
    expect((await asAcme('GET', `/api/v1/tokens/${globex.id}`)).status).toBe(403);
    expect((await asAcme('DELETE', `/api/v1/tokens/${globex.id}`)).status).toBe(403);
    expect((await asAcme('GET', '/api/v1/tokens?tenant=globex')).status).toBe(403);
    const peer = (listed.body.tokens as { id: string; name: string }[]).find(
      (t) => t.name === 'peer',
    );
    expect((await asAcme('DELETE', `/api/v1/tokens/${peer?.id ?? ''}`)).status).toBe(200);
  });

  it('reads its own audit entries only', async () => {
    const own = await asAcme('GET', '/api/v1/audit');
    const entries = own.body.entries as { tenantId: string; actor: string }[];
    expect(entries.length).toBeGreaterThan(3);
    expect(entries.every((entry) => entry.tenantId === 'acme')).toBe(true);
    expect(entries.some((entry) => entry.actor.startsWith(`acme admin (token ${acmeId})`))).toBe(
      true,
    );
    expect((await asAcme('GET', '/api/v1/audit?tenant=globex')).status).toBe(403);
  });

  it('a token of several tenants names the one whose audit log it reads', async () => {
    const both = await h.token('both', ['tenant:acme', 'tenant:globex']);
    expect(await h.call('GET', '/api/v1/audit', undefined, both.token)).toMatchObject({
      status: 400,
    });
    expect((await h.call('GET', '/api/v1/audit?tenant=globex', undefined, both.token)).status).toBe(
      200,
    );
    const apps = await h.call('GET', '/api/v1/apps', undefined, both.token);
    expect((apps.body.apps as { id: string }[]).map((app) => app.id).sort()).toEqual([
      'globex-app',
      'shop',
    ]);
  });

  it('sees sink header names, not their values; an admin sees both', async () => {
    await h.ok('PATCH', '/api/v1/tenants/acme', {
      sinks: { loki: { headers: { authorization: 'Bearer loki-secret' } } },
    });
    const own = await asAcme('GET', '/api/v1/tenants/acme');
    expect(own.body.sinks).toEqual({ loki: { headers: { authorization: '[redacted]' } } });
    expect(own.text).not.toContain('loki-secret');
    expect((await h.ok<{ sinks: unknown }>('GET', '/api/v1/tenants/acme')).sinks).toEqual({
      loki: { headers: { authorization: 'Bearer loki-secret' } },
    });
  });

  it('a source-map token manages its app’s maps and nothing else', async () => {
    const ci = await h.token('ci', ['sourcemaps:shop']);
    const as = (method: string, path: string, body?: unknown) =>
      h.call(method, path, body, ci.token);
    expect((await as('GET', '/api/v1/apps/shop/sourcemaps')).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/api/v1/apps/shop'],
      ['GET', '/api/v1/apps/shop/logs'],
      ['GET', '/api/v1/apps/shop/keys'],
      ['GET', '/api/v1/tenants'],
      ['GET', '/api/v1/apps'],
      ['GET', '/api/v1/tokens'],
      ['GET', '/api/v1/audit'],
      ['GET', '/api/v1/apps/globex-app/sourcemaps'],
    ] as const) {
      expect((await as(method, path)).status, path).toBe(403);
    }
  });
});
