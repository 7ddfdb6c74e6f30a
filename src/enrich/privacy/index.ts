export {
  BUILT_IN_RULES,
  FIELD_KINDS,
  PrivacySettingsSchema,
  TenantPrivacySchema,
  privacyConfigProblems,
  resolvePrivacySettings,
  type BuiltInRule,
  type EffectivePrivacySettings,
  type FieldKind,
  type PrivacyConfigProblem,
  type PrivacySettings,
  type TenantPrivacySettings,
} from './config.js';
export { privacyConfigOf, readPrivacyConfigFile, type PrivacyConfig } from './config-file.js';
export { registerPrivacyCommands } from './cli.js';
export { formatDryRun, privacyDryRun, type DryRunReport } from './dry-run.js';
export { createPrivacyEnricher, type PrivacyEnricherOptions } from './enricher.js';
export { compilePrivacyPolicy, scrubText, type PrivacyPolicy } from './policy.js';
export { DEFAULT_QUERY_PARAMS } from './rules/query-params.js';
export { scrubPayload, type FieldChange, type ScrubResult } from './scrub.js';
