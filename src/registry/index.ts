export {
  Registry,
  APP_KEY_PREFIX,
  SYSTEM_ACTOR,
  TOKEN_PREFIX,
  actorLabel,
  hashToken,
  maskKey,
  newAppKey,
  normaliseOrigins,
  redactTenant,
  tokenInfo,
} from './registry.js';
export type {
  Actor,
  CreateAppInput,
  CreateTenantInput,
  DeletedApp,
  DeletedTenant,
  RegistryOptions,
  ResolvedKey,
  TokenInfo,
  UpdateTenantInput,
} from './registry.js';
export { openSqliteRegistry } from './sqlite-store.js';
export { openPostgresRegistry, registryChannel, listenerApplicationName } from './pg-store.js';
export type { PostgresRegistryOptions } from './pg-store.js';
export { followRegistryChanges } from './follow.js';
export type { ChangeFollower, FollowOptions } from './follow.js';
export { APP_DEFAULTS } from './types.js';
export { reconcileRegistry } from './reconcile.js';
export type { ReconcileReport } from './reconcile.js';
export type * from './types.js';
