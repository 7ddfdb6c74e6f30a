import type { AcceptedBatch, FaroMeta } from '../../model/index.js';
import type { Enricher } from '../types.js';
import {
  PHAROS_FINGERPRINT_FIELD,
  computeFingerprint,
  type FingerprintOptions,
  type FingerprintSource,
  type FingerprintedException,
} from './fingerprint.js';

export interface FingerprintEnricherOptions {
  /** In-app frames that identify an error (default 5). */
  maxFrames?: number;
  /** Library paths besides node_modules, vendor, bower_components, webpack runtime. */
  libraryPatterns?: readonly RegExp[];
  /** Called once per exception: how it was grouped (for a counter by tenant and source). */
  onFingerprint?: (tenantId: string, source: FingerprintSource) => void;
  /** Called when an exception could not be fingerprinted (a defect: the model is validated). */
  onFailure?: (tenantId: string, error: unknown) => void;
}

/**
 * Sets `pharosFingerprint` on every exception of a batch. Runs after symbolication (frames are
 * the original ones when a source map was found) and after the privacy rules (nothing scrubbed
 * goes into a hash).
 */
export function createFingerprintEnricher(options: FingerprintEnricherOptions = {}): Enricher {
  return {
    name: 'fingerprint',
    enrich(batch: AcceptedBatch): void {
      const exceptions = batch.payload.exceptions;
      if (!exceptions || exceptions.length === 0) return;
      const fingerprintOptions: FingerprintOptions = {
        ...(options.maxFrames !== undefined ? { maxFrames: options.maxFrames } : {}),
        ...(options.libraryPatterns ? { libraryPatterns: options.libraryPatterns } : {}),
        releaseTokens: releaseTokens(batch.payload.meta),
      };
      for (const exception of exceptions as FingerprintedException[]) {
        try {
          const result = computeFingerprint(exception, fingerprintOptions);
          exception[PHAROS_FINGERPRINT_FIELD] = result.id;
          options.onFingerprint?.(batch.tenantId, result.source);
        } catch (error) {
          // Never fail a batch for this: the exception keeps no fingerprint, and it is counted.
          delete exception[PHAROS_FINGERPRINT_FIELD];
          options.onFailure?.(batch.tenantId, error);
        }
      }
    },
  };
}

/** Values in script paths that change with each deploy: `/static/r42/app.js`, `app.1.2.3.js`. */
function releaseTokens(meta: FaroMeta | undefined): string[] {
  const app = meta?.app;
  return [app?.release, app?.version, app?.bundleId].filter(
    (token): token is string => typeof token === 'string' && token.length > 0,
  );
}
