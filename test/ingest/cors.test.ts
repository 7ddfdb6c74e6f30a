import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureIndex } from '../helpers/fixtures.js';
import {
  FIXTURE_APP,
  fixtureTenantConfig,
  startTestPharos,
  type TestPharos,
} from '../helpers/pharos.js';

describe('CORS on the ingest routes', () => {
  let pharos: TestPharos;

  beforeAll(async () => {
    pharos = await startTestPharos({
      ...fixtureTenantConfig([FIXTURE_APP.origin, 'https://*.preview.example.com']),
      cors: { allowedHeaders: ['x-tenant-hint'], maxAge: '10m' },
    });
  });
  afterAll(() => pharos.stop());

  it("answers the SDK's captured preflights so that the browser lets the POST through", async () => {
    const collectPreflights = fixtureIndex.preflights.filter((preflight) =>
      preflight.path.startsWith('/collect'),
    );
    expect(collectPreflights.length).toBeGreaterThan(0);
    for (const preflight of collectPreflights) {
      const headers = Object.fromEntries(
        preflight.headers
          .filter(([name]) => !['host', 'connection'].includes(name.toLowerCase()))
          .map(([name, value]) => [name.toLowerCase(), value]),
      );
      const response = await request(`${pharos.publicUrl}${preflight.path}`, {
        method: 'OPTIONS',
        headers,
      });
      await response.body.dump();
      expect(response.statusCode).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe(FIXTURE_APP.origin);
      expect(response.headers['access-control-allow-methods']).toBe('POST, OPTIONS');
      expect(response.headers.vary).toBe('Origin');
      const allowed = String(response.headers['access-control-allow-headers']).split(', ');
      for (const asked of String(headers['access-control-request-headers']).split(','))
        expect(allowed).toContain(asked);
    }
  });

  it('allows the SDK headers, tracing headers and configured extras, and sets Max-Age', async () => {
    const response = await request(`${pharos.publicUrl}/collect/${FIXTURE_APP.key}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://pr-7.preview.example.com',
        'access-control-request-method': 'POST',
      },
    });
    await response.body.dump();
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(
      'https://pr-7.preview.example.com',
    );
    expect(String(response.headers['access-control-allow-headers']).split(', ')).toEqual([
      'content-type',
      'content-encoding',
      'x-api-key',
      'x-faro-session-id',
      'idempotency-key',
      'traceparent',
      'tracestate',
      'x-tenant-hint',
    ]);
    expect(response.headers['access-control-max-age']).toBe('600');
  });

  it('refuses a preflight from an origin outside the app list, without CORS headers', async () => {
    const response = await request(`${pharos.publicUrl}/collect/${FIXTURE_APP.key}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    const body = (await response.body.json()) as { code: string };
    expect(response.statusCode).toBe(403);
    expect(body.code).toBe('PHAROS_ERR_ORIGIN_NOT_ALLOWED');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a preflight on /collect (key in x-api-key, unknown yet) and checks the origin on the POST', async () => {
    const preflight = await request(`${pharos.publicUrl}/collect`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-api-key',
      },
    });
    await preflight.body.dump();
    expect(preflight.statusCode).toBe(204);
    const post = await request(`${pharos.publicUrl}/collect`, {
      method: 'POST',
      headers: {
        origin: 'https://evil.example',
        'x-api-key': FIXTURE_APP.key,
        'content-type': 'application/json',
      },
      body: '{"events":[{"name":"x"}]}',
    });
    expect(post.statusCode).toBe(403);
    await post.body.dump();
    const allowed = await request(`${pharos.publicUrl}/collect`, {
      method: 'POST',
      headers: {
        origin: FIXTURE_APP.origin,
        'x-api-key': FIXTURE_APP.key,
        'content-type': 'application/json',
      },
      body: '{"events":[{"name":"x"}]}',
    });
    await allowed.body.dump();
    expect(allowed.statusCode).toBe(202);
    expect(allowed.headers['access-control-allow-origin']).toBe(FIXTURE_APP.origin);
  });

  it('sends no CORS headers to senders without an Origin (servers, curl)', async () => {
    const response = await request(`${pharos.publicUrl}/collect/${FIXTURE_APP.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"events":[{"name":"server-side"}]}',
    });
    await response.body.dump();
    expect(response.statusCode).toBe(202);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('exposes CORS headers on errors after admission, so the SDK can read them', async () => {
    const response = await request(`${pharos.publicUrl}/collect/${FIXTURE_APP.key}`, {
      method: 'POST',
      headers: { origin: FIXTURE_APP.origin, 'content-type': 'application/json' },
      body: '{"logs":"nope"}',
    });
    await response.body.dump();
    expect(response.statusCode).toBe(400);
    expect(response.headers['access-control-allow-origin']).toBe(FIXTURE_APP.origin);
    expect(response.headers['access-control-expose-headers']).toBe(
      'Retry-After, X-Faro-Session-Status',
    );
  });
});

describe('health endpoints of the public listener', () => {
  let pharos: TestPharos;
  beforeAll(async () => {
    pharos = await startTestPharos();
  });
  afterAll(() => pharos.stop());

  it('answers /-/ready and /-/healthy', async () => {
    for (const [path, text] of [
      ['/-/ready', 'ready'],
      ['/-/healthy', 'healthy'],
    ] as const) {
      const response = await request(`${pharos.publicUrl}${path}`);
      expect(response.statusCode).toBe(200);
      expect(await response.body.text()).toBe(text);
    }
  });
});
