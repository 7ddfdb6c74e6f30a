import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';

describe('admin and read API on the internal listener', () => {
  let pharos: TestPharos;
  let now = Date.parse('2026-11-25T12:00:00Z');

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    token: string | null = pharos.adminToken,
  ) => {
    const response = await request(`${pharos.internalUrl}${path}`, {
      method: method as 'GET',
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & { code?: string },
    };
  };
  const ingest = async (key: string, payload: unknown) => {
    const response = await request(`${pharos.publicUrl}/collect/${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      body: text ? (JSON.parse(text) as { code: string; message: string }) : undefined,
    };
  };

  beforeAll(async () => {
    pharos = await startTestPharos({ demo: { enabled: false } }, { clock: () => now });
  });
  afterAll(() => pharos.stop());

  it('refuses calls without a token or with a wrong one', async () => {
    expect(await call('GET', '/api/v1/apps', undefined, null)).toMatchObject({
      status: 401,
      body: { code: 'PHAROS_ERR_UNAUTHORIZED' },
    });
    expect(await call('GET', '/api/v1/apps', undefined, 'pha_wrong')).toMatchObject({
      status: 401,
      body: { code: 'PHAROS_ERR_UNAUTHORIZED' },
    });
    expect(await call('GET', '/api/v1/nothing-here')).toMatchObject({
      status: 404,
      body: { code: 'PHAROS_ERR_ROUTE_NOT_FOUND' },
    });
  });

  it('serves /metrics and health without a token', async () => {
    const metrics = await request(`${pharos.internalUrl}/metrics`);
    expect(metrics.statusCode).toBe(200);
    expect(await metrics.body.text()).toContain('pharos_build_info');
    const ready = await request(`${pharos.internalUrl}/-/ready`);
    expect(await ready.body.text()).toBe('ready');
  });

  it('creates a tenant and an app whose key works at once', async () => {
    expect(await call('POST', '/api/v1/tenants', { id: 'acme', name: 'ACME' })).toMatchObject({
      status: 201,
      body: { id: 'acme', source: 'api' },
    });
    const created = await call('POST', '/api/v1/apps', {
      tenantId: 'acme',
      id: 'shop',
      name: 'Shop',
      allowedOrigins: ['https://shop.acme.example'],
    });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(created.body.ingestUrl).toBe(`${pharos.publicUrl}/collect/${key}`);
    expect((await ingest(key, { events: [{ name: 'first' }] })).status).toBe(202);
  });

  it('explains bad admin requests precisely', async () => {
    expect(await call('POST', '/api/v1/tenants', { id: 'acme' })).toMatchObject({
      status: 409,
      body: { code: 'PHAROS_ERR_CONFLICT' },
    });
    const badId = await call('POST', '/api/v1/tenants', { id: 'Not OK' });
    expect(badId).toMatchObject({ status: 400, body: { code: 'PHAROS_ERR_INVALID_REQUEST' } });
    expect(String(badId.body.message)).toMatch(/id/);
    expect(await call('POST', '/api/v1/apps', { tenantId: 'ghost', name: 'x' })).toMatchObject({
      status: 404,
      body: { code: 'PHAROS_ERR_NOT_FOUND' },
    });
    expect(await call('GET', '/api/v1/apps/ghost')).toMatchObject({
      status: 404,
      body: { code: 'PHAROS_ERR_NOT_FOUND' },
    });
    expect(await call('GET', '/api/v1/apps/shop/logs?from=yesterday')).toMatchObject({
      status: 400,
      body: { code: 'PHAROS_ERR_INVALID_REQUEST' },
    });
    expect(await call('GET', '/api/v1/apps/shop/logs?limit=5000')).toMatchObject({
      status: 400,
      body: { code: 'PHAROS_ERR_INVALID_REQUEST' },
    });
    expect(await call('GET', '/api/v1/apps/shop/traces')).toMatchObject({
      status: 400,
      body: { code: 'PHAROS_ERR_INVALID_REQUEST' },
    });
  });

  it('rotates a key: both work during the grace period, then the old one is refused as expired', async () => {
    const before = (await call('GET', '/api/v1/apps/shop')).body as { keys: { key: string }[] };
    const oldKey = before.keys[0]?.key as string;
    const rotated = await call('POST', '/api/v1/apps/shop/keys/rotate', { grace: '1h' });
    expect(rotated.status).toBe(201);
    const newKey = rotated.body.key as string;
    expect(rotated.body.previousKeysExpireAt).toBe(new Date(now + 3_600_000).toISOString());
    expect((await ingest(oldKey, { events: [{ name: 'old-key' }] })).status).toBe(202);
    expect((await ingest(newKey, { events: [{ name: 'new-key' }] })).status).toBe(202);
    now += 3_600_000;
    const refused = await ingest(oldKey, { events: [{ name: 'too-late' }] });
    expect(refused).toMatchObject({ status: 401, body: { code: 'PHAROS_ERR_APP_KEY_INVALID' } });
    expect(refused.body?.message).toMatch(/expired/);
    expect((await ingest(newKey, { events: [{ name: 'still-fine' }] })).status).toBe(202);
  });

  it('reads items back with filters and cursor pagination', async () => {
    const key = ((await call('GET', '/api/v1/apps/shop')).body.ingestUrl as string)
      .split('/')
      .pop() as string;
    const base = now;
    for (let i = 0; i < 25; i++) {
      const { status } = await ingest(key, {
        meta: { session: { id: i < 10 ? 'session-a' : 'session-b' } },
        logs: [
          {
            message: `log ${i}`,
            level: i % 5 === 0 ? 'error' : 'info',
            timestamp: new Date(base + i * 1000).toISOString(),
          },
        ],
      });
      expect(status).toBe(202);
    }
    await pharos.flush();
    const all = await call('GET', '/api/v1/apps/shop/logs?limit=1000');
    expect((all.body.items as unknown[]).length).toBe(25);
    const errors = await call('GET', '/api/v1/apps/shop/logs?level=error');
    expect(
      (errors.body.items as { item: { message: string } }[]).map((item) => item.item.message),
    ).toEqual(['log 20', 'log 15', 'log 10', 'log 5', 'log 0']);
    const sessionA = await call(
      'GET',
      '/api/v1/apps/shop/logs?session=session-a&order=asc&limit=3',
    );
    expect(
      (sessionA.body.items as { item: { message: string } }[]).map((item) => item.item.message),
    ).toEqual(['log 0', 'log 1', 'log 2']);
    const window = await call(
      'GET',
      `/api/v1/apps/shop/logs?from=${new Date(base + 3000).toISOString()}&to=${base + 6000}`,
    );
    expect((window.body.items as unknown[]).length).toBe(3);

    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(
        'GET',
        `/api/v1/apps/shop/logs?limit=10${cursor ? `&cursor=${cursor}` : ''}`,
      );
      pages.push(
        ...(page.body.items as { item: { message: string } }[]).map((item) => item.item.message),
      );
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(pages).toHaveLength(25);
    expect(new Set(pages).size).toBe(25);
    expect(await call('GET', '/api/v1/apps/shop/logs?cursor=garbage')).toMatchObject({
      status: 400,
    });
  });

  it('follows new items live over server-sent events', async () => {
    const key = ((await call('GET', '/api/v1/apps/shop')).body.ingestUrl as string)
      .split('/')
      .pop() as string;
    const controller = new AbortController();
    const response = await fetch(`${pharos.internalUrl}/api/v1/apps/shop/tail?kinds=log`, {
      headers: { authorization: `Bearer ${pharos.adminToken}` },
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(
      (await ingest(key, { events: [{ name: 'not-a-log' }], logs: [{ message: 'tailed' }] }))
        .status,
    ).toBe(202);
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes('event: item') && Date.now() < deadline) {
      const timeout = new Promise<{ done: true; value: undefined }>((resolve) =>
        setTimeout(
          () => resolve({ done: true, value: undefined }),
          Math.max(0, deadline - Date.now()),
        ),
      );
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const data = text.split('\n').find((line) => line.startsWith('data: '));
    expect(JSON.parse((data as string).slice(6))).toMatchObject({
      kind: 'log',
      appId: 'shop',
      item: { message: 'tailed' },
    });
    expect(text).not.toContain('not-a-log');
  });
});
