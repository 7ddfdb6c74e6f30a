export { Registry, APP_KEY_PREFIX, hashToken, newAppKey, normaliseOrigins } from './registry.js';
export type { CreateAppInput, RegistryOptions, ResolvedKey } from './registry.js';
export { openSqliteRegistry } from './sqlite-store.js';
export { reconcileRegistry } from './reconcile.js';
export type { ReconcileReport } from './reconcile.js';
export type * from './types.js';
