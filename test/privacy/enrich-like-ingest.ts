import { Value } from '@sinclair/typebox/value';
import { validatePayload } from '../../src/decode/index.js';
import { createFingerprintEnricher } from '../../src/enrich/fingerprint/index.js';
import {
  PrivacySettingsSchema,
  createPrivacyEnricher,
  type PrivacySettings,
} from '../../src/enrich/privacy/index.js';
import type { AcceptedBatch, FaroPayload } from '../../src/model/index.js';

const defaults = Value.Default(PrivacySettingsSchema, {}) as PrivacySettings;
const privacy = createPrivacyEnricher({ global: defaults });
const fingerprint = createFingerprintEnricher();

/**
 * A payload as the enrich stage leaves it with the default settings (privacy rules, then error
 * fingerprints; no source map is known): what every sink receives. Validated as ingest does, so
 * string maps are stringified the same way. The input is not changed.
 */
export function enrichLikeIngest(payload: unknown, tenantId = 'capture'): AcceptedBatch {
  const { payload: valid, itemCount } = validatePayload(structuredClone(payload), 100_000);
  const batch: AcceptedBatch = {
    tenantId,
    appId: 'capture-app',
    receivedAt: Date.now(),
    payload: valid,
    itemCount,
    bytes: 1,
  };
  void privacy.enrich(batch);
  void fingerprint.enrich(batch);
  return batch;
}

export function enrichedPayload(payload: unknown): FaroPayload {
  return enrichLikeIngest(payload).payload;
}
