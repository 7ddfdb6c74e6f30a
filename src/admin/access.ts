import type { FastifyRequest } from 'fastify';
import { PharosError } from '../errors/index.js';
import type { App, Registry, Tenant } from '../registry/index.js';
import type { Actor } from '../registry/registry.js';
import type { Principal } from './auth.js';

/**
 * The permission model of the admin API (docs/api.md says it in prose):
 * - `admin` may do everything;
 * - `tenant:<id>` administers that tenant's apps, keys, tokens and reads its limits and audit log,
 *   but changes neither the tenant itself nor any limit, and grants nothing beyond its own tenant;
 * - `sourcemaps:<app>` only manages that app's source maps (see the source-map routes).
 *
 * For anything but an admin token, an object of another tenant and an object that does not exist
 * get the same 403: a tenant token learns nothing about which ids other tenants use.
 */

export function principalOf(request: FastifyRequest): Principal {
  // Set by the listener's authentication hook on every route that is not public.
  if (!request.principal) throw new PharosError('UNAUTHORIZED', 'missing token');
  return request.principal;
}

export function isAdmin(principal: Principal): boolean {
  return principal.scopes.includes('admin');
}

/** The tenants a token administers through `tenant:<id>` scopes. */
export function tenantsOf(principal: Principal): string[] {
  return principal.scopes
    .filter((scope) => scope.startsWith('tenant:'))
    .map((scope) => scope.slice('tenant:'.length));
}

export function mayAdministerTenant(principal: Principal, tenantId: string): boolean {
  return isAdmin(principal) || principal.scopes.includes(`tenant:${tenantId}`);
}

export function requireAdmin(principal: Principal, what: string): void {
  if (!isAdmin(principal)) throw new PharosError('FORBIDDEN', `only an admin token may ${what}`);
}

/** The tenant, when the token administers it (admin: 404 when it does not exist). */
export async function requireTenant(
  principal: Principal,
  registry: Registry,
  id: string,
): Promise<Tenant> {
  if (!mayAdministerTenant(principal, id))
    throw new PharosError('FORBIDDEN', `this token may not access tenant ${id}`);
  const tenant = await registry.store.getTenant(id);
  if (!tenant) throw new PharosError('NOT_FOUND', `tenant ${id} does not exist`);
  return tenant;
}

/** The app, when the token administers its tenant (admin: 404 when it does not exist). */
export async function requireApp(
  principal: Principal,
  registry: Registry,
  id: string,
): Promise<App> {
  const app = await registry.store.getApp(id);
  if (app && mayAdministerTenant(principal, app.tenantId)) return app;
  if (!app && isAdmin(principal)) throw new PharosError('NOT_FOUND', `app ${id} does not exist`);
  throw new PharosError('FORBIDDEN', `this token may not access app ${id}`);
}

/**
 * The tenants a listing may show: the one asked for (which the token must administer), or all
 * the token administers; `all` for an admin token that did not ask.
 */
export function listedTenants(principal: Principal, asked: string | undefined): string[] | 'all' {
  if (asked !== undefined) {
    if (!mayAdministerTenant(principal, asked))
      throw new PharosError('FORBIDDEN', `this token may not access tenant ${asked}`);
    return [asked];
  }
  if (isAdmin(principal)) return 'all';
  const tenants = tenantsOf(principal);
  if (tenants.length === 0) throw new PharosError('FORBIDDEN', 'this token administers no tenant');
  return tenants;
}

/** The audit log's actor for a principal. */
export function actorOf(principal: Principal): Actor {
  return { name: principal.name, tokenId: principal.tokenId };
}
