import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PharosError } from '../../errors/index.js';
import type { App } from '../../registry/index.js';
import {
  actorOf,
  isAdmin,
  listedTenants,
  principalOf,
  requireApp,
  requireTenant,
} from '../access.js';
import type { Principal } from '../auth.js';
import {
  AppCreateBody,
  AppCreated,
  AppDeleted,
  AppParams,
  AppPatchBody,
  AppSchema,
  AppsQuery,
  SCOPES,
  responses,
} from '../schemas.js';
import { appView, type AppView } from '../views.js';
import type { AdminRouteDeps } from './deps.js';

const tags = ['apps'];

/** Apps: a tenant admin creates, changes and deletes its tenant's; only limits are the admin's. */
export function registerAppRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { registry } = deps;
  const view = async (target: App): Promise<AppView> =>
    appView(target, await registry.store.listKeys(target.id), deps.publicUrl, registry.clock());

  app.get<{ Querystring: Static<typeof AppsQuery> }>(
    '/api/v1/apps',
    {
      schema: {
        operationId: 'listApps',
        summary: 'List apps with their keys (a tenant token: its tenant’s)',
        tags,
        'x-scopes': SCOPES.anyToken,
        querystring: AppsQuery,
        response: responses(
          { 200: Type.Object({ apps: Type.Array(AppSchema) }, { description: 'Apps by id.' }) },
          [400, 401, 403],
        ),
      },
    },
    async (request) => {
      const tenants = listedTenants(principalOf(request), request.query.tenant);
      const apps =
        tenants === 'all'
          ? await registry.store.listApps()
          : (await Promise.all(tenants.map((tenant) => registry.store.listApps(tenant)))).flat();
      return { apps: await Promise.all(apps.map(view)) };
    },
  );

  app.post<{ Body: Static<typeof AppCreateBody> }>(
    '/api/v1/apps',
    {
      schema: {
        operationId: 'createApp',
        summary: 'Create an app and its first key',
        tags,
        'x-scopes': ['admin', 'tenant:<tenantId>'],
        body: AppCreateBody,
        response: responses({ 201: AppCreated }, [400, 401, 403, 404, 409]),
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await requireTenant(principal, registry, request.body.tenantId);
      refuseLimitsUnlessAdmin(principal, request.body);
      const { app: created, key } = await registry.createApp(request.body, actorOf(principal));
      return reply
        .status(201)
        .send({ ...appView(created, [key], deps.publicUrl, registry.clock()), key: key.key });
    },
  );

  app.get<{ Params: Static<typeof AppParams> }>(
    '/api/v1/apps/:app',
    {
      schema: {
        operationId: 'getApp',
        summary: 'Get an app with its keys',
        tags,
        'x-scopes': SCOPES.app,
        params: AppParams,
        response: responses({ 200: AppSchema }),
      },
    },
    async (request) => view(await requireApp(principalOf(request), registry, request.params.app)),
  );

  app.patch<{ Params: Static<typeof AppParams>; Body: Static<typeof AppPatchBody> }>(
    '/api/v1/apps/:app',
    {
      schema: {
        operationId: 'updateApp',
        summary: 'Change an app’s settings (limits: admin only)',
        tags,
        'x-scopes': SCOPES.app,
        params: AppParams,
        body: AppPatchBody,
        response: responses({ 200: AppSchema }, [400, 401, 403, 404, 409]),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      await requireApp(principal, registry, request.params.app);
      refuseLimitsUnlessAdmin(principal, request.body);
      return view(await registry.updateApp(request.params.app, request.body, actorOf(principal)));
    },
  );

  app.delete<{ Params: Static<typeof AppParams> }>(
    '/api/v1/apps/:app',
    {
      schema: {
        operationId: 'deleteApp',
        summary: 'Delete an app, its keys and its source maps',
        tags,
        'x-scopes': SCOPES.app,
        params: AppParams,
        response: responses({ 200: AppDeleted }, [400, 401, 403, 404, 409]),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      await requireApp(principal, registry, request.params.app);
      const deleted = await registry.deleteApp(request.params.app, actorOf(principal));
      deps.forgetTokens();
      await purgeAppData(deps, [deleted.app.id]);
      return { app: deleted.app, revokedTokens: deleted.revokedTokens.map((token) => token.id) };
    },
  );
}

/** Limits are the operator's traffic control: a tenant admin reads them but does not set them. */
function refuseLimitsUnlessAdmin(principal: Principal, body: { limits?: unknown }): void {
  if (body.limits !== undefined && !isAdmin(principal))
    throw new PharosError('FORBIDDEN', 'only an admin token may set limits');
}

/**
 * Removes what a deleted app leaves outside the registry that a later app with the same id
 * could otherwise pick up: its source maps (another tenant's code). Stored telemetry is read
 * only through the registry's apps and filtered by tenant (see the telemetry routes).
 */
export async function purgeAppData(deps: AdminRouteDeps, appIds: readonly string[]): Promise<void> {
  const sourcemaps = deps.sourcemaps;
  if (!sourcemaps) return;
  for (const appId of appIds) {
    const bundles = new Set((await sourcemaps.store.list(appId)).map((map) => map.bundleId));
    for (const bundleId of bundles) {
      await sourcemaps.store.delete(appId, bundleId);
      sourcemaps.onChange?.(appId, bundleId);
    }
  }
}
