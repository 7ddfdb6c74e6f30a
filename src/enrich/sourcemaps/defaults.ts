const MiB = 1024 * 1024;

/**
 * Defaults of every limit (the config schema proposal repeats them). A module of its own so that
 * the CLI can read them without loading the symbolication code.
 */
export const SOURCEMAP_DEFAULTS = {
  cacheMaxBytes: 256 * MiB,
  maxConcurrentLoads: 4,
  /** faro-cli's own cap (`THIRTY_MB_IN_BYTES`): a map it uploads always fits. */
  maxMapBytes: 30 * MiB,
  maxScriptBytes: 10 * MiB,
  recheckMs: 30_000,
  downloadRecheckMs: 5 * 60_000,
  downloadTimeoutMs: 3_000,
  maxRedirects: 3,
  downloadFailureTtlMs: 5 * 60_000,
  maxConcurrentDownloads: 8,
  maxWaitMs: 1500,
  maxFilesPerBatch: 32,
} as const;
