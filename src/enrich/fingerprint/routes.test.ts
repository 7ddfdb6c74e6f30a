import Database from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PharosError, isPharosError } from '../../errors/index.js';
import type { AcceptedBatch } from '../../model/index.js';
import { createFingerprintEnricher } from './enricher.js';
import { registerErrorGroupRoutes } from './routes.js';
import { ERROR_GROUPS_MIGRATION, ErrorGroupStore, type ErrorGroup } from './store-groups.js';

describe('GET /api/v1/apps/:app/errors', () => {
  let app: FastifyInstance;
  let db: Database.Database;

  beforeAll(async () => {
    db = new Database(':memory:');
    db.exec(ERROR_GROUPS_MIGRATION);
    const groups = new ErrorGroupStore(db);
    const now = Date.now();
    for (let i = 0; i < 3; i++) {
      const batch: AcceptedBatch = {
        tenantId: 'acme',
        appId: 'shop',
        receivedAt: now - i * 60_000,
        payload: {
          meta: { session: { id: `s${i}` } },
          exceptions: [{ type: `Error${i}`, value: 'boom' }],
        },
        itemCount: 1,
        bytes: 1,
      };
      void createFingerprintEnricher().enrich(batch);
      groups.record(batch);
    }
    app = Fastify();
    app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      if (isPharosError(error)) return reply.status(error.statusCode).send(error.toBody());
      return reply.status(error.statusCode ?? 500).send({ message: error.message });
    });
    registerErrorGroupRoutes(app, {
      groups: () => groups,
      authorise: (_request, appId) =>
        appId === 'shop'
          ? Promise.resolve({ id: appId, tenantId: 'acme' })
          : Promise.reject(new PharosError('NOT_FOUND', `no app ${appId}`)),
    });
    // The item routes of the read API share the prefix: the static segment must win.
    app.get('/api/v1/apps/:app/:kind', () => ({ items: [] }));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    db.close();
  });

  it('lists groups, newest first, paged with a cursor', async () => {
    const first = await app.inject('/api/v1/apps/shop/errors?limit=2');
    expect(first.statusCode).toBe(200);
    const page = first.json<{ groups: ErrorGroup[]; nextCursor: string | null }>();
    expect(page.groups.map((group) => group.type)).toEqual(['Error0', 'Error1']);
    expect(page.nextCursor).not.toBeNull();
    const second = await app.inject(
      `/api/v1/apps/shop/errors?limit=2&cursor=${page.nextCursor ?? ''}`,
    );
    const rest = second.json<{ groups: ErrorGroup[]; nextCursor: string | null }>();
    expect(rest.groups.map((group) => group.type)).toEqual(['Error2']);
    expect(rest.nextCursor).toBeNull();
  });

  it('filters by since and reads one group', async () => {
    const recent = await app.inject('/api/v1/apps/shop/errors?since=90s');
    const groups = recent.json<{ groups: ErrorGroup[] }>().groups;
    expect(groups).toHaveLength(2);
    const one = await app.inject(`/api/v1/apps/shop/errors/${groups[0]?.fingerprint ?? ''}`);
    expect(one.json<ErrorGroup>()).toMatchObject({ type: 'Error0', count: 1, sessions: 1 });
  });

  it('refuses bad input and unknown apps and groups', async () => {
    expect((await app.inject('/api/v1/apps/shop/errors?sort=oldest')).statusCode).toBe(400);
    expect((await app.inject('/api/v1/apps/shop/errors?since=soon')).statusCode).toBe(400);
    expect((await app.inject('/api/v1/apps/shop/errors?cursor=bad')).statusCode).toBe(400);
    expect((await app.inject('/api/v1/apps/blog/errors')).statusCode).toBe(404);
    expect((await app.inject('/api/v1/apps/shop/errors/0000000000000000')).statusCode).toBe(404);
  });
});
