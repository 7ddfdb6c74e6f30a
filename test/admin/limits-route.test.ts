import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInternalServer } from '../../src/admin/server.js';
import { createMetrics } from '../../src/metrics/index.js';
import { Registry, openSqliteRegistry } from '../../src/registry/index.js';

describe('GET …/limits with the configured defaults', () => {
  let dir: string;
  let registry: Registry;
  let app: FastifyInstance;
  let token: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-limits-'));
    registry = new Registry(openSqliteRegistry(join(dir, 'registry.db')));
    await registry.refresh(true);
    await registry.createTenant({ id: 'acme', limits: { items: { perSecond: 5, burst: 5 } } });
    await registry.createApp({ tenantId: 'acme', id: 'shop', name: 'Shop' });
    token = (await registry.createToken('acme', ['tenant:acme'])).token;
    app = await createInternalServer({
      registry,
      store: undefined,
      metrics: createMetrics('test'),
      logger: pino({ level: 'silent' }),
      staticAdminToken: '',
      isReady: () => true,
      defaultKeyGraceMs: 0,
      publicUrl: 'http://127.0.0.1:1',
      limitDefaults: {
        global: {},
        tenant: { requests: { perSecond: 1000, burst: 2000 }, items: { perSecond: 50, burst: 50 } },
        app: { kinds: { log: { perSecond: 10, burst: 10 } } },
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await registry.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (url: string) =>
    (await app.inject({ url, headers: { authorization: `Bearer ${token}` } })).json<unknown>();

  it('answers own, default and effective limits, for a tenant admin too', async () => {
    expect(await get('/api/v1/tenants/acme/limits')).toEqual({
      limits: { items: { perSecond: 5, burst: 5 } },
      defaults: {
        requests: { perSecond: 1000, burst: 2000 },
        items: { perSecond: 50, burst: 50 },
      },
      effective: { requests: { perSecond: 1000, burst: 2000 }, items: { perSecond: 5, burst: 5 } },
    });
    expect(await get('/api/v1/apps/shop/limits')).toEqual({
      limits: {},
      defaults: { kinds: { log: { perSecond: 10, burst: 10 } } },
      effective: { kinds: { log: { perSecond: 10, burst: 10 } } },
    });
  });
});
