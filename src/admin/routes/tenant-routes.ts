import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PharosError } from '../../errors/index.js';
import {
  actorOf,
  isAdmin,
  principalOf,
  requireAdmin,
  requireTenant,
  tenantsOf,
} from '../access.js';
import {
  SCOPES,
  TenantCreateBody,
  TenantDeleteQuery,
  TenantDeleted,
  TenantParams,
  TenantPatchBody,
  TenantSchema,
  responses,
} from '../schemas.js';
import { Type } from '@sinclair/typebox';
import { tenantView } from '../views.js';
import type { AdminRouteDeps } from './deps.js';
import { purgeAppData } from './app-routes.js';

const tags = ['tenants'];

/** Tenants: admins manage them; a tenant admin reads its own. */
export function registerTenantRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { registry } = deps;

  app.get(
    '/api/v1/tenants',
    {
      schema: {
        operationId: 'listTenants',
        summary: 'List tenants (a tenant token: its own)',
        tags,
        'x-scopes': SCOPES.anyToken,
        response: responses(
          {
            200: Type.Object(
              { tenants: Type.Array(TenantSchema) },
              { description: 'Tenants by id.' },
            ),
          },
          [401, 403],
        ),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const all = await registry.store.listTenants();
      if (isAdmin(principal)) return { tenants: all };
      const own = new Set(tenantsOf(principal));
      if (own.size === 0) throw new PharosError('FORBIDDEN', 'this token administers no tenant');
      return {
        tenants: all.filter((tenant) => own.has(tenant.id)).map((t) => tenantView(t, principal)),
      };
    },
  );

  app.post<{ Body: Static<typeof TenantCreateBody> }>(
    '/api/v1/tenants',
    {
      schema: {
        operationId: 'createTenant',
        summary: 'Create a tenant',
        tags,
        'x-scopes': SCOPES.admin,
        body: TenantCreateBody,
        response: responses({ 201: TenantSchema }, [400, 401, 403, 409]),
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      requireAdmin(principal, 'create tenants');
      const tenant = await registry.createTenant(request.body, actorOf(principal));
      return reply.status(201).send(tenant);
    },
  );

  app.get<{ Params: Static<typeof TenantParams> }>(
    '/api/v1/tenants/:tenant',
    {
      schema: {
        operationId: 'getTenant',
        summary: 'Get a tenant',
        tags,
        'x-scopes': SCOPES.tenant,
        params: TenantParams,
        response: responses({ 200: TenantSchema }),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return tenantView(await requireTenant(principal, registry, request.params.tenant), principal);
    },
  );

  app.patch<{ Params: Static<typeof TenantParams>; Body: Static<typeof TenantPatchBody> }>(
    '/api/v1/tenants/:tenant',
    {
      schema: {
        operationId: 'updateTenant',
        summary: 'Change a tenant: name, orgId, sink overrides, limits',
        tags,
        'x-scopes': SCOPES.admin,
        params: TenantParams,
        body: TenantPatchBody,
        response: responses({ 200: TenantSchema }, [400, 401, 403, 404, 409]),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      // Name, org id, sinks and limits route and bound a tenant's data: the operator's to set.
      requireAdmin(principal, 'change a tenant');
      return registry.updateTenant(request.params.tenant, request.body, actorOf(principal));
    },
  );

  app.delete<{
    Params: Static<typeof TenantParams>;
    Querystring: Static<typeof TenantDeleteQuery>;
  }>(
    '/api/v1/tenants/:tenant',
    {
      schema: {
        operationId: 'deleteTenant',
        summary: 'Delete a tenant (with its apps: ?cascade=true)',
        tags,
        'x-scopes': SCOPES.admin,
        params: TenantParams,
        querystring: TenantDeleteQuery,
        response: responses({ 200: TenantDeleted }, [400, 401, 403, 404, 409]),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      requireAdmin(principal, 'delete a tenant');
      const deleted = await registry.deleteTenant(
        request.params.tenant,
        { cascade: request.query.cascade === true },
        actorOf(principal),
      );
      deps.forgetTokens();
      await purgeAppData(
        deps,
        deleted.apps.map((each) => each.id),
      );
      return {
        tenant: deleted.tenant,
        apps: deleted.apps.map((each) => each.id),
        revokedTokens: deleted.revokedTokens.map((token) => token.id),
      };
    },
  );
}
