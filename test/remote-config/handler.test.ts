import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_CACHE_CONTROL, configKeyFromPath } from '../../src/ingest/remote-config.js';
import type { Registry } from '../../src/registry/index.js';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';

const SHOP_ORIGIN = 'https://shop.acme.example';
const PORTAL_ORIGIN = 'https://portal.globex.example';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('GET /config/:appKey', () => {
  let pharos: TestPharos;
  let registry: Registry;
  let server: { origin: string };
  let now = Date.parse('2026-01-01T00:00:00Z');
  const keys = { shop: '', portal: '', open: '' };

  async function get(
    key: string,
    headers: Record<string, string> = {},
    method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS' = 'GET',
  ): Promise<Answer> {
    const response = await request(`${server.origin}/config/${key}`, { method, headers });
    return {
      status: response.statusCode,
      headers: response.headers,
      body: await response.body.text(),
    };
  }

  beforeAll(async () => {
    pharos = await startTestPharos({ demo: { enabled: false } }, { clock: () => now });
    registry = pharos.registry;
    server = { origin: pharos.publicUrl };
    await registry.createTenant({ id: 'acme' });
    await registry.createTenant({ id: 'globex' });
    keys.shop = (
      await registry.createApp({
        tenantId: 'acme',
        id: 'shop',
        name: 'Shop',
        allowedOrigins: [SHOP_ORIGIN],
        samplingRate: 0.25,
        tracePropagationUrls: ['^https://api\\.acme\\.example/'],
        ignoreUrls: ['/acme-health$'],
        environments: ['production', 'staging'],
      })
    ).key.key;
    keys.portal = (
      await registry.createApp({
        tenantId: 'globex',
        id: 'portal',
        name: 'Globex portal',
        allowedOrigins: [PORTAL_ORIGIN],
        samplingRate: 0.9,
        tracePropagationUrls: ['^https://globex-internal\\.example/'],
        ignoreUrls: ['/globex-secret-path'],
        environments: ['globex-prod'],
      })
    ).key.key;
    keys.open = (
      await registry.createApp({ tenantId: 'globex', id: 'open', name: 'Open' })
    ).key.key;
  });

  afterAll(async () => {
    await pharos?.stop();
  });

  it("answers the app's client settings, cacheable, with a strong ETag and CORS for its origin", async () => {
    const answer = await get(keys.shop, { origin: SHOP_ORIGIN });
    expect(answer.status).toBe(200);
    const shop = registry.cachedApp('shop')!;
    expect(JSON.parse(answer.body)).toEqual({
      samplingRate: 0.25,
      tracePropagationUrls: ['^https://api\\.acme\\.example/'],
      ignoreUrls: ['/acme-health$'],
      environments: ['production', 'staging'],
      version: shop.updatedAt,
    });
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers.etag).toMatch(/^"[0-9a-f]{16}"$/);
    expect(answer.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=600');
    expect(answer.headers['cache-control']).toBe(CONFIG_CACHE_CONTROL);
    expect(answer.headers.vary).toBe('Origin');
    expect(answer.headers['access-control-allow-origin']).toBe(SHOP_ORIGIN);
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('answers a request without Origin (not a browser) without CORS headers', async () => {
    const answer = await get(keys.shop);
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(answer.headers.vary).toBe('Origin');
  });

  it('echoes any origin for an app that allows any', async () => {
    const answer = await get(keys.open, { origin: 'https://anywhere.example' });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe('https://anywhere.example');
  });

  it('refuses a browser origin outside the app list, revealing nothing', async () => {
    const answer = await get(keys.shop, { origin: 'https://evil.example' });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'PHAROS_ERR_ORIGIN_NOT_ALLOWED' });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers.vary).toBe('Origin');
    expect(answer.body).not.toContain('acme-health');
    expect(answer.headers.etag).toBeUndefined();
  });

  it('answers 304 to If-None-Match with the current tag (strong, weak, in a list, or *)', async () => {
    const { headers } = await get(keys.shop, { origin: SHOP_ORIGIN });
    const etag = String(headers.etag);
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const answer = await get(keys.shop, { origin: SHOP_ORIGIN, 'if-none-match': ifNoneMatch });
      expect(answer.status, ifNoneMatch).toBe(304);
      expect(answer.body).toBe('');
      expect(answer.headers.etag).toBe(etag);
      expect(answer.headers['cache-control']).toBe(CONFIG_CACHE_CONTROL);
      expect(answer.headers.vary).toBe('Origin');
      expect(answer.headers['access-control-allow-origin']).toBe(SHOP_ORIGIN);
    }
    const stale = await get(keys.shop, { 'if-none-match': '"0000000000000000"' });
    expect(stale.status).toBe(200);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const full = await get(keys.shop, { origin: SHOP_ORIGIN });
    const head = await get(keys.shop, { origin: SHOP_ORIGIN }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(full.body)));
    for (const name of [
      'etag',
      'cache-control',
      'vary',
      'content-type',
      'access-control-allow-origin',
    ])
      expect(head.headers[name], name).toBe(full.headers[name]);
  });

  it('refuses other methods with 405 and Allow: GET, HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS'] as const) {
      const answer = await get(keys.shop, { origin: SHOP_ORIGIN }, method);
      expect(answer.status, method).toBe(405);
      expect(answer.headers.allow).toBe('GET, HEAD');
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'PHAROS_ERR_METHOD_NOT_ALLOWED' });
    }
  });

  it('refuses an unknown key with 401, as /collect does, and does not let it be cached', async () => {
    const answer = await get('pk_does_not_exist_0123456789', { origin: SHOP_ORIGIN });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({
      statusCode: 401,
      code: 'PHAROS_ERR_APP_KEY_INVALID',
      error: 'Unauthorized',
      message: 'unknown app key',
    });
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a rotated key once its grace period is over', async () => {
    const { key: fresh } = await registry.rotateKey('open', 60_000);
    const old = keys.open;
    keys.open = fresh.key;
    expect((await get(old)).status).toBe(200); // within the grace period
    now += 60_001;
    const expired = await get(old);
    expect(expired.status).toBe(401);
    expect((JSON.parse(expired.body) as { message: string }).message).toMatch(/expired/);
    expect((await get(keys.open)).status).toBe(200);
  });

  it("never shows another app's or tenant's settings", async () => {
    const shop = await get(keys.shop, { origin: SHOP_ORIGIN });
    const portal = await get(keys.portal, { origin: PORTAL_ORIGIN });
    expect(Object.keys(JSON.parse(shop.body) as object)).toEqual([
      'samplingRate',
      'tracePropagationUrls',
      'ignoreUrls',
      'environments',
      'version',
    ]);
    for (const secret of ['globex', 'portal', '0.9', PORTAL_ORIGIN]) {
      expect(shop.body).not.toContain(secret);
    }
    for (const secret of ['acme', 'shop', '0.25']) expect(portal.body).not.toContain(secret);
    // No origin list, tenant, name, id or key in either.
    expect(shop.body).not.toContain(SHOP_ORIGIN);
    expect(shop.body).not.toContain(keys.shop);
    expect(shop.headers.etag).not.toBe(portal.headers.etag);
    // The other tenant's browser origin cannot read this app's config.
    expect((await get(keys.shop, { origin: PORTAL_ORIGIN })).status).toBe(403);
    // A tag of one app does not validate another app's config.
    const crossed = await get(keys.portal, { 'if-none-match': String(shop.headers.etag) });
    expect(crossed.status).toBe(200);
  });

  it('serves the new settings and tag right after a change, and only for that app', async () => {
    const before = await get(keys.shop);
    const portalBefore = await get(keys.portal);
    now += 1000;
    await registry.updateApp('shop', { samplingRate: 0.5, ignoreUrls: ['/new$'] });
    const after = await get(keys.shop, { 'if-none-match': String(before.headers.etag) });
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body)).toMatchObject({ samplingRate: 0.5, ignoreUrls: ['/new$'] });
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect((JSON.parse(after.body) as { version: number }).version).toBeGreaterThan(
      (JSON.parse(before.body) as { version: number }).version,
    );
    const portalAfter = await get(keys.portal);
    expect(portalAfter.headers.etag).toBe(portalBefore.headers.etag);
  });

  it('is counted under its route template', async () => {
    const text = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
    expect(text).toMatch(
      /pharos_http_requests_total\{listener="public",route="\/config\/:appKey",status="304",code=""\} \d+/,
    );
    expect(text).toMatch(
      /pharos_http_requests_total\{listener="public",route="\/config\/:appKey",status="401",code="PHAROS_ERR_APP_KEY_INVALID"\} \d+/,
    );
  });

  it('matches only /config/<key>, ignoring the query string', async () => {
    expect(configKeyFromPath('/config/abc')).toBe('abc');
    for (const path of ['/config', '/config/', '/config/a/b', '/configs/abc', '/collect/abc'])
      expect(configKeyFromPath(path), path).toBeUndefined();
    const withQuery = await request(`${server.origin}/config/${keys.portal}?v=1`);
    expect(withQuery.statusCode).toBe(200);
    await withQuery.body.dump();
  });
});
