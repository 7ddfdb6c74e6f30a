import type { AdminToken, App, AppKey, Tenant } from '../registry/index.js';
import { redactTenant, tokenInfo } from '../registry/registry.js';
import { isAdmin } from './access.js';
import type { Principal } from './auth.js';

/** An app as the API shows it: with its keys and the URL to put in the Faro config. */
export interface AppView extends App {
  keys: KeyView[];
  ingestUrl: string;
}

export interface KeyView {
  key: string;
  createdAt: number;
  expiresAt: number | null;
}

export function keyView({ key, createdAt, expiresAt }: AppKey): KeyView {
  return { key, createdAt, expiresAt };
}

/** The newest live key makes the ingest URL: that is the one a new snippet should carry. */
export function appView(app: App, keys: AppKey[], publicUrl: string, now: number): AppView {
  const live = keys.filter((key) => key.expiresAt === null || key.expiresAt > now);
  const newest = live[live.length - 1];
  return {
    ...app,
    keys: keys.map(keyView),
    ingestUrl: newest ? `${publicUrl}/collect/${newest.key}` : '',
  };
}

/**
 * Sink header values hold the operator's backend credentials: only admin tokens see them (they
 * can read the config anyway); a tenant admin sees which headers are set, not their values.
 */
export function tenantView(tenant: Tenant, principal: Principal): Tenant {
  return isAdmin(principal) ? tenant : redactTenant(tenant);
}

export interface TokenView extends Omit<AdminToken, 'hash'> {
  tenantId: string | null;
}

export function tokenView(token: AdminToken, tenantId: string | null): TokenView {
  return { ...tokenInfo(token), tenantId };
}
