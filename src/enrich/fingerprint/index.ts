export {
  DEFAULT_MAX_FRAMES,
  PHAROS_FINGERPRINT_FIELD,
  computeFingerprint,
  culpritOf,
  fingerprintException,
  pharosFingerprintOf,
  type FingerprintOptions,
  type FingerprintResult,
  type FingerprintSource,
  type FingerprintedException,
} from './fingerprint.js';
export { createFingerprintEnricher, type FingerprintEnricherOptions } from './enricher.js';
export {
  isInAppFrame,
  normalizeFilePath,
  normalizeFunctionName,
  type GroupingFrame,
} from './frames.js';
export { fingerprintLineKeys } from './loki.js';
export { normalizeMessage } from './normalize-message.js';
export { registerErrorGroupRoutes, type ErrorGroupRouteDeps } from './routes.js';
export {
  ERROR_GROUPS_MIGRATION,
  ERROR_GROUP_SORTS,
  ErrorGroupStore,
  type ErrorGroup,
  type ErrorGroupQuery,
  type ErrorGroupSort,
} from './store-groups.js';
