import { fromBigint, fromBigintOrNull } from './pg-database.js';
import type {
  AdminToken,
  App,
  AppKey,
  AuditEntry,
  Limits,
  Source,
  Tenant,
  TenantSinks,
} from './types.js';

/**
 * Rows as node-postgres returns them: JSON columns already parsed, BIGINT (milliseconds, ids) as
 * strings, DOUBLE PRECISION as numbers.
 */
type Bigint = string;

export type TenantRow = {
  id: string;
  name: string;
  org_id: string | null;
  sinks: TenantSinks;
  limits: Limits;
  source: Source;
  created_at: Bigint;
  updated_at: Bigint;
};

export type AppRow = {
  id: string;
  tenant_id: string;
  name: string;
  allowed_origins: string[];
  environments: string[];
  sampling_rate: number;
  trace_propagation_urls: string[];
  ignore_urls: string[];
  limits: Limits;
  source: Source;
  created_at: Bigint;
  updated_at: Bigint;
};

export type KeyRow = {
  key: string;
  app_id: string;
  source: Source;
  created_at: Bigint;
  expires_at: Bigint | null;
};

export type TokenRow = {
  id: string;
  name: string;
  hash: string;
  scopes: string[];
  created_at: Bigint;
  expires_at: Bigint | null;
  revoked_at: Bigint | null;
};

export type AuditRow = {
  id: Bigint;
  at: Bigint;
  actor: string;
  action: string;
  target: string;
  tenant_id: string | null;
  before: unknown;
  after: unknown;
};

export const toTenant = (row: TenantRow): Tenant => ({
  id: row.id,
  name: row.name,
  orgId: row.org_id,
  sinks: row.sinks,
  limits: row.limits,
  source: row.source,
  createdAt: fromBigint(row.created_at),
  updatedAt: fromBigint(row.updated_at),
});

export const toApp = (row: AppRow): App => ({
  id: row.id,
  tenantId: row.tenant_id,
  name: row.name,
  allowedOrigins: row.allowed_origins,
  environments: row.environments,
  samplingRate: row.sampling_rate,
  tracePropagationUrls: row.trace_propagation_urls,
  ignoreUrls: row.ignore_urls,
  limits: row.limits,
  source: row.source,
  createdAt: fromBigint(row.created_at),
  updatedAt: fromBigint(row.updated_at),
});

export const toKey = (row: KeyRow): AppKey => ({
  key: row.key,
  appId: row.app_id,
  source: row.source,
  createdAt: fromBigint(row.created_at),
  expiresAt: fromBigintOrNull(row.expires_at),
});

export const toToken = (row: TokenRow): AdminToken => ({
  id: row.id,
  name: row.name,
  hash: row.hash,
  scopes: row.scopes,
  createdAt: fromBigint(row.created_at),
  expiresAt: fromBigintOrNull(row.expires_at),
  revokedAt: fromBigintOrNull(row.revoked_at),
});

export const toAudit = (row: AuditRow): AuditEntry => ({
  id: fromBigint(row.id),
  at: fromBigint(row.at),
  actor: row.actor,
  action: row.action,
  target: row.target,
  tenantId: row.tenant_id,
  before: row.before,
  after: row.after,
});

/**
 * A value for a JSON column, as text: node-postgres would send a JS array as a PostgreSQL array
 * literal, not as JSON. `null`/`undefined` become SQL NULL (the audit log's "nothing before").
 */
export function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
