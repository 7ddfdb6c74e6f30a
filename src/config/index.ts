export {
  loadConfig,
  readConfigFile,
  unknownPharosVariables,
  validateConfig,
  RESERVED_ENV,
} from './load.js';
export type { ConfigSources } from './load.js';
export { ConfigSchema, configLeaves, envName } from './schema.js';
export type { DeclaredAppConfig, DeclaredTenantConfig, PharosConfig } from './schema.js';
export { renderConfigReference } from './reference.js';
