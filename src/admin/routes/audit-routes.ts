import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PharosError } from '../../errors/index.js';
import { listedTenants, principalOf } from '../access.js';
import { AuditPage, AuditQuery, SCOPES, responses } from '../schemas.js';
import type { AdminRouteDeps } from './deps.js';

/** The audit log, newest first: an admin reads all of it, a tenant admin its tenant's entries. */
export function registerAuditRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/api/v1/audit',
    {
      schema: {
        operationId: 'listAudit',
        summary: 'Changes made through the API, newest first, paged',
        tags: ['audit'],
        'x-scopes': SCOPES.anyToken,
        querystring: AuditQuery,
        response: responses({ 200: AuditPage }, [400, 401, 403]),
      },
    },
    async (request) => {
      const tenants = listedTenants(principalOf(request), request.query.tenant);
      if (tenants !== 'all' && tenants.length > 1) {
        throw new PharosError(
          'INVALID_REQUEST',
          'this token administers several tenants; name one with ?tenant=<id>',
        );
      }
      const { limit, before } = request.query;
      const entries = await deps.registry.store.listAudit({
        tenantId: tenants === 'all' ? undefined : tenants[0],
        beforeId: before,
        limit,
      });
      const last = entries[entries.length - 1];
      return { entries, nextBefore: entries.length === limit && last ? last.id : null };
    },
  );
}
