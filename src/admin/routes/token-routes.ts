import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PharosError } from '../../errors/index.js';
import { parseDuration } from '../../lib/units.js';
import type { AdminToken, Registry } from '../../registry/index.js';
import {
  actorOf,
  isAdmin,
  listedTenants,
  mayAdministerTenant,
  principalOf,
  requireAdmin,
} from '../access.js';
import type { Principal } from '../auth.js';
import {
  SCOPES,
  TokenCreateBody,
  TokenCreated,
  TokenParams,
  TokenSchema,
  TokensQuery,
  responses,
} from '../schemas.js';
import { tokenView, type TokenView } from '../views.js';
import type { AdminRouteDeps } from './deps.js';

const tags = ['tokens'];

/**
 * API tokens. Any token that administers a tenant may issue tokens for it (`tenant:<it>`,
 * `sourcemaps:<its app>`), list and revoke them; only admin tokens issue `admin` tokens or
 * tokens spanning tenants. No token issues one that outlives itself.
 */
export function registerTokenRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { registry } = deps;

  app.get<{ Querystring: Static<typeof TokensQuery> }>(
    '/api/v1/tokens',
    {
      schema: {
        operationId: 'listTokens',
        summary: 'List tokens, without their secrets (a tenant token: its tenant’s)',
        tags,
        'x-scopes': SCOPES.anyToken,
        querystring: TokensQuery,
        response: responses(
          {
            200: Type.Object(
              { tokens: Type.Array(TokenSchema) },
              { description: 'Tokens, oldest first.' },
            ),
          },
          [400, 401, 403],
        ),
      },
    },
    async (request) => {
      const tenants = listedTenants(principalOf(request), request.query.tenant);
      const views = await Promise.all(
        (await registry.store.listTokens()).map(async (token) =>
          tokenView(token, await registry.tenantOfScopes(token.scopes)),
        ),
      );
      return {
        tokens:
          tenants === 'all'
            ? views
            : views.filter((view) => view.tenantId !== null && tenants.includes(view.tenantId)),
      };
    },
  );

  app.post<{ Body: Static<typeof TokenCreateBody> }>(
    '/api/v1/tokens',
    {
      schema: {
        operationId: 'createToken',
        summary: 'Issue a token; the answer holds it, once',
        tags,
        'x-scopes': ['admin', 'tenant:<id> (for scopes of that tenant)'],
        body: TokenCreateBody,
        response: responses({ 201: TokenCreated }, [400, 401, 403, 404]),
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await requireGrantable(principal, registry, request.body.scopes);
      const expiresAt = expiryOf(principal, request.body, registry.clock());
      const { token, record } = await registry.createToken(request.body.name, request.body.scopes, {
        expiresAt,
        actor: actorOf(principal),
      });
      return reply
        .status(201)
        .send({ ...tokenView(record, await registry.tenantOfScopes(record.scopes)), token });
    },
  );

  app.get<{ Params: Static<typeof TokenParams> }>(
    '/api/v1/tokens/:token',
    {
      schema: {
        operationId: 'getToken',
        summary: 'Get a token, without its secret',
        tags,
        'x-scopes': SCOPES.anyToken,
        params: TokenParams,
        response: responses({ 200: TokenSchema }),
      },
    },
    async (request) =>
      (await requireVisibleToken(principalOf(request), registry, request.params.token)).view,
  );

  app.delete<{ Params: Static<typeof TokenParams> }>(
    '/api/v1/tokens/:token',
    {
      schema: {
        operationId: 'revokeToken',
        summary: 'Revoke a token: it is refused from now on',
        tags,
        'x-scopes': SCOPES.anyToken,
        params: TokenParams,
        response: responses({ 200: TokenSchema }),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { view } = await requireVisibleToken(principal, registry, request.params.token);
      const revoked = await registry.revokeToken(view.id, actorOf(principal));
      deps.forgetTokens();
      return tokenView(revoked, view.tenantId);
    },
  );
}

/** A token the caller may see: any for admin, those of its tenants otherwise (else 403, as for a missing one). */
async function requireVisibleToken(
  principal: Principal,
  registry: Registry,
  id: string,
): Promise<{ token: AdminToken; view: TokenView }> {
  const token = await registry.store.getToken(id);
  if (!token) {
    if (isAdmin(principal)) throw new PharosError('NOT_FOUND', `token ${id} does not exist`);
    throw new PharosError('FORBIDDEN', `this token may not access token ${id}`);
  }
  const view = tokenView(token, await registry.tenantOfScopes(token.scopes));
  if (
    !isAdmin(principal) &&
    (view.tenantId === null || !mayAdministerTenant(principal, view.tenantId))
  )
    throw new PharosError('FORBIDDEN', `this token may not access token ${id}`);
  return { token, view };
}

/**
 * Every scope must be one the caller administers: `admin` only from admin, `tenant:<t>` for a
 * tenant it administers, `sourcemaps:<app>` for an app of such a tenant. Targets must exist, so
 * a token cannot wait for a tenant or app to be created with the id it names.
 */
async function requireGrantable(
  principal: Principal,
  registry: Registry,
  scopes: readonly string[],
): Promise<void> {
  for (const scope of scopes) {
    if (scope === 'admin') {
      requireAdmin(principal, 'issue admin tokens');
      continue;
    }
    const [kind, id = ''] = scope.split(':') as [string, string | undefined];
    const tenantId = kind === 'tenant' ? id : (await registry.store.getApp(id))?.tenantId;
    const exists =
      kind === 'tenant' ? Boolean(await registry.store.getTenant(id)) : tenantId !== undefined;
    if (!exists && isAdmin(principal))
      throw new PharosError(
        'NOT_FOUND',
        `${kind === 'tenant' ? 'tenant' : 'app'} ${id} does not exist`,
      );
    if (!exists || tenantId === undefined || !mayAdministerTenant(principal, tenantId))
      throw new PharosError('FORBIDDEN', `this token may not grant ${scope}`);
  }
}

/** The new token's expiry: as asked, capped by the caller's own (a token cannot outlive its maker). */
function expiryOf(
  principal: Principal,
  body: { expiresIn?: string | undefined; expiresAt?: string | undefined },
  now: number,
): number | null {
  if (body.expiresIn !== undefined && body.expiresAt !== undefined)
    throw new PharosError('INVALID_REQUEST', 'give expiresIn or expiresAt, not both');
  let asked: number | null = null;
  if (body.expiresIn !== undefined) {
    const ms = parseDuration(body.expiresIn);
    if (ms === undefined || ms === 0)
      throw new PharosError(
        'INVALID_REQUEST',
        `expiresIn ${JSON.stringify(body.expiresIn)} is not a duration such as "90d"`,
      );
    asked = now + ms;
  } else if (body.expiresAt !== undefined) {
    asked = Date.parse(body.expiresAt);
    if (!Number.isFinite(asked))
      throw new PharosError(
        'INVALID_REQUEST',
        `expiresAt ${JSON.stringify(body.expiresAt)} is not an RFC 3339 time`,
      );
  }
  if (principal.expiresAt === null) return asked;
  if (asked === null) return principal.expiresAt;
  if (asked > principal.expiresAt)
    throw new PharosError(
      'FORBIDDEN',
      `this token expires at ${new Date(principal.expiresAt).toISOString()}; it may not issue one that lives longer`,
    );
  return asked;
}
