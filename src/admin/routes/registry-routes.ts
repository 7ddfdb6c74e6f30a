import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PharosError } from '../../errors/index.js';
import { SLUG_PATTERN } from '../../lib/ids.js';
import { parseDuration } from '../../lib/units.js';
import type { App, AppKey, Registry } from '../../registry/index.js';
import { requireScope } from '../auth.js';
import type { InternalServerDeps } from '../server.js';

const TenantBody = Type.Object(
  {
    id: Type.String({ pattern: SLUG_PATTERN }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
const AppBody = Type.Object(
  {
    tenantId: Type.String({ pattern: SLUG_PATTERN }),
    id: Type.Optional(Type.String({ pattern: SLUG_PATTERN })),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    allowedOrigins: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 100 })),
  },
  { additionalProperties: false },
);
const AppPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    allowedOrigins: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 100 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
const RotateBody = Type.Object(
  { grace: Type.Optional(Type.Union([Type.String(), Type.Number({ minimum: 0 })])) },
  { additionalProperties: false },
);
const AppParams = Type.Object({ app: Type.String() });
const AppsQuery = Type.Object({ tenant: Type.Optional(Type.String()) });

/** An app as the API shows it: with its keys and the URL to put in the Faro config. */
export interface AppView extends App {
  keys: { key: string; createdAt: number; expiresAt: number | null }[];
  ingestUrl: string;
}

export function registerRegistryRoutes(app: FastifyInstance, deps: InternalServerDeps): void {
  const { registry } = deps;
  const admin = (request: FastifyRequest) =>
    requireScope(request.principal as NonNullable<typeof request.principal>, 'admin');
  const view = async (target: App): Promise<AppView> =>
    appView(target, await registry.store.listKeys(target.id), deps.publicUrl);

  app.get('/api/v1/tenants', async (request) => {
    admin(request);
    return { tenants: await registry.store.listTenants() };
  });

  app.post<{ Body: Static<typeof TenantBody> }>(
    '/api/v1/tenants',
    { schema: { body: TenantBody } },
    async (request, reply) => {
      admin(request);
      const tenant = await registry.createTenant({ id: request.body.id, name: request.body.name });
      return reply.status(201).send(tenant);
    },
  );

  app.get<{ Querystring: Static<typeof AppsQuery> }>(
    '/api/v1/apps',
    { schema: { querystring: AppsQuery } },
    async (request) => {
      admin(request);
      const apps = await registry.store.listApps(request.query.tenant);
      return { apps: await Promise.all(apps.map(view)) };
    },
  );

  app.post<{ Body: Static<typeof AppBody> }>(
    '/api/v1/apps',
    { schema: { body: AppBody } },
    async (request, reply) => {
      admin(request);
      const { app: created, key } = await registry.createApp(request.body);
      return reply.status(201).send({ ...appView(created, [key], deps.publicUrl), key: key.key });
    },
  );

  app.get<{ Params: Static<typeof AppParams> }>(
    '/api/v1/apps/:app',
    { schema: { params: AppParams } },
    async (request) => {
      admin(request);
      return view(await requireApp(registry, request.params.app));
    },
  );

  app.patch<{ Params: Static<typeof AppParams>; Body: Static<typeof AppPatch> }>(
    '/api/v1/apps/:app',
    { schema: { params: AppParams, body: AppPatch } },
    async (request) => {
      admin(request);
      const updated = await registry.updateApp(request.params.app, request.body);
      return view(updated);
    },
  );

  app.get<{ Params: Static<typeof AppParams> }>(
    '/api/v1/apps/:app/keys',
    { schema: { params: AppParams } },
    async (request) => {
      admin(request);
      const target = await requireApp(registry, request.params.app);
      return { keys: (await view(target)).keys };
    },
  );

  app.post<{ Params: Static<typeof AppParams>; Body: Static<typeof RotateBody> | undefined }>(
    '/api/v1/apps/:app/keys/rotate',
    { schema: { params: AppParams, body: Type.Optional(RotateBody) } },
    async (request, reply) => {
      admin(request);
      const grace = request.body?.grace;
      const graceMs = grace === undefined ? deps.defaultKeyGraceMs : parseDuration(grace);
      if (graceMs === undefined)
        throw new PharosError(
          'INVALID_REQUEST',
          `grace ${JSON.stringify(grace)} is not a duration such as "24h"`,
        );
      const { key, previousKeysExpireAt } = await registry.rotateKey(request.params.app, graceMs);
      return reply.status(201).send({
        key: key.key,
        previousKeysExpireAt: new Date(previousKeysExpireAt).toISOString(),
        ingestUrl: `${deps.publicUrl}/collect/${key.key}`,
      });
    },
  );
}

export async function requireApp(registry: Registry, id: string): Promise<App> {
  const found = await registry.store.getApp(id);
  if (!found) throw new PharosError('NOT_FOUND', `app ${id} does not exist`);
  return found;
}

function appView(target: App, keys: AppKey[], publicUrl: string): AppView {
  const now = Date.now();
  const live = keys.filter((key) => key.expiresAt === null || key.expiresAt > now);
  const newest = live[live.length - 1];
  return {
    ...target,
    keys: keys.map(({ key, createdAt, expiresAt }) => ({ key, createdAt, expiresAt })),
    ingestUrl: newest ? `${publicUrl}/collect/${newest.key}` : '',
  };
}
