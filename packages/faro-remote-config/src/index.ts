export { DEFAULT_REMOTE_CONFIG, parseRemoteConfig, type RemoteConfig } from './config.js';
export {
  loadRemoteConfig,
  type LoadRemoteConfigOptions,
  type LoadedRemoteConfig,
  type RemoteConfigSource,
  type StorageLike,
} from './load.js';
export {
  allowsEnvironment,
  faroOptionsFrom,
  type FaroBaseOptions,
  type FaroRemoteOptions,
} from './faro-options.js';
export {
  consistentSessionSampling,
  generateSessionId,
  keepsSession,
  sessionFraction,
  type ConsistentSessionSampling,
} from './sampling.js';
