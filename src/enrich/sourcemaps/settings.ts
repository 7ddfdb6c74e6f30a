import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import { PharosError, isPharosError } from '../../errors/index.js';
import { normaliseOrigins } from '../../registry/index.js';
import type { SourceMapLocation } from './locations.js';
import type { FrameContext } from './resolver.js';
import type { SourceMapStore } from './store.js';
import type { SourcemapOptions } from './symbolication.js';
import type { UploadLimits } from './upload-body.js';

/**
 * The `sourcemaps` block of the configuration, decoded (sizes in bytes, durations in ms); the
 * schema proposal in the report produces exactly this.
 */
export interface SourcemapSettings {
  cacheMaxBytes: number;
  maxUploadBytes: number;
  uploadTimeout: number;
  recheck: number;
  maxWait: number;
  locations: SourceMapLocation[];
  download: {
    /** Per tenant id, or `<tenant>/<app>` (which replaces the tenant's list for that app). */
    origins: Record<string, string[]>;
    timeout: number;
    maxScriptBytes: number;
    maxConcurrent: number;
    failureTtl: number;
    recheck: number;
  };
}

/**
 * The allow-list function the resolver asks for each frame's app. Origins are checked and
 * normalised once, at start, as the registry does for browser origins.
 */
export function downloadOriginsFrom(
  origins: Record<string, readonly string[]>,
): (context: FrameContext) => readonly string[] {
  const normalised = new Map<string, readonly string[]>();
  for (const [scope, list] of Object.entries(origins)) {
    try {
      normalised.set(scope, normaliseOrigins(list));
    } catch (error) {
      if (!isPharosError(error)) throw error;
      throw new PharosError(
        'CONFIG_INVALID',
        `sourcemaps.download.origins.${scope}: ${error.message}`,
      );
    }
  }
  return (context) =>
    normalised.get(`${context.tenantId}/${context.appId}`) ??
    normalised.get(context.tenantId) ??
    [];
}

export function sourcemapOptionsFrom(
  settings: SourcemapSettings,
  deps: {
    store: SourceMapStore;
    metricsRegistry: MetricsRegistry;
    logger?: Logger;
    clock?: () => number;
  },
): SourcemapOptions {
  return {
    ...deps,
    cacheMaxBytes: settings.cacheMaxBytes,
    maxMapBytes: settings.maxUploadBytes,
    maxScriptBytes: settings.download.maxScriptBytes,
    locations: settings.locations,
    recheckMs: settings.recheck,
    downloadRecheckMs: settings.download.recheck,
    maxWaitMs: settings.maxWait,
    download: {
      origins: downloadOriginsFrom(settings.download.origins),
      timeoutMs: settings.download.timeout,
      maxConcurrent: settings.download.maxConcurrent,
      failureTtlMs: settings.download.failureTtl,
    },
  };
}

export function uploadLimitsFrom(settings: SourcemapSettings): UploadLimits {
  return {
    maxMapBytes: settings.maxUploadBytes,
    maxTarballBytes: settings.maxUploadBytes,
    bodyTimeoutMs: settings.uploadTimeout,
  };
}
