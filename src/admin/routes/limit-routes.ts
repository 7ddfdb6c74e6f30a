import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Limits } from '../../registry/index.js';
import { actorOf, principalOf, requireAdmin, requireApp, requireTenant } from '../access.js';
import { NO_LIMIT_DEFAULTS, effectiveLimits } from '../limits.js';
import { AppParams, LimitsBody, LimitsView, SCOPES, TenantParams, responses } from '../schemas.js';
import type { AdminRouteDeps } from './deps.js';

const tags = ['limits'];

/** Limits of tenants and apps: everyone who may see the object reads them; admins set them. */
export function registerLimitRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { registry } = deps;
  const defaults = deps.limitDefaults ?? NO_LIMIT_DEFAULTS;
  const view = (own: Limits, levelDefaults: Limits) => ({
    limits: own,
    defaults: levelDefaults,
    effective: effectiveLimits(levelDefaults, own),
  });

  app.get<{ Params: Static<typeof TenantParams> }>(
    '/api/v1/tenants/:tenant/limits',
    {
      schema: {
        operationId: 'getTenantLimits',
        summary: 'A tenant’s limits, its defaults and the effective ones',
        tags,
        'x-scopes': SCOPES.tenant,
        params: TenantParams,
        response: responses({ 200: LimitsView }),
      },
    },
    async (request) => {
      const tenant = await requireTenant(principalOf(request), registry, request.params.tenant);
      return view(tenant.limits, defaults.tenant);
    },
  );

  app.put<{ Params: Static<typeof TenantParams>; Body: Static<typeof LimitsBody> }>(
    '/api/v1/tenants/:tenant/limits',
    {
      schema: {
        operationId: 'setTenantLimits',
        summary: 'Replace a tenant’s limits',
        tags,
        'x-scopes': SCOPES.admin,
        params: TenantParams,
        body: LimitsBody,
        response: responses({ 200: LimitsView }, [400, 401, 403, 404, 409]),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      requireAdmin(principal, 'set limits');
      const tenant = await registry.setTenantLimits(
        request.params.tenant,
        request.body,
        actorOf(principal),
      );
      return view(tenant.limits, defaults.tenant);
    },
  );

  app.get<{ Params: Static<typeof AppParams> }>(
    '/api/v1/apps/:app/limits',
    {
      schema: {
        operationId: 'getAppLimits',
        summary: 'An app’s limits, its defaults and the effective ones',
        tags,
        'x-scopes': SCOPES.app,
        params: AppParams,
        response: responses({ 200: LimitsView }),
      },
    },
    async (request) => {
      const target = await requireApp(principalOf(request), registry, request.params.app);
      return view(target.limits, defaults.app);
    },
  );

  app.put<{ Params: Static<typeof AppParams>; Body: Static<typeof LimitsBody> }>(
    '/api/v1/apps/:app/limits',
    {
      schema: {
        operationId: 'setAppLimits',
        summary: 'Replace an app’s limits',
        tags,
        'x-scopes': SCOPES.admin,
        params: AppParams,
        body: LimitsBody,
        response: responses({ 200: LimitsView }, [400, 401, 403, 404, 409]),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      requireAdmin(principal, 'set limits');
      const updated = await registry.setAppLimits(
        request.params.app,
        request.body,
        actorOf(principal),
      );
      return view(updated.limits, defaults.app);
    },
  );
}
