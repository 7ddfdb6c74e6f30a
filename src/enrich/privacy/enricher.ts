import type { AcceptedBatch } from '../../model/index.js';
import type { Enricher } from '../types.js';
import {
  resolvePrivacySettings,
  type PrivacySettings,
  type TenantPrivacySettings,
} from './config.js';
import { compilePrivacyPolicy, type PrivacyPolicy } from './policy.js';
import { scrubPayload } from './scrub.js';

export interface PrivacyEnricherOptions {
  /** The global `privacy` block. */
  global: PrivacySettings;
  /** `tenants[].privacy` of the declared tenants, by tenant id. Others get the global rules. */
  tenants?: ReadonlyMap<string, TenantPrivacySettings>;
  /** Strings a rule changed (or fields dropped) in one batch, for a counter by tenant and rule. */
  onRedactions?: (tenantId: string, rule: string, count: number) => void;
  /** A defect while scrubbing: the batch's items were removed rather than kept unscrubbed. */
  onFailure?: (tenantId: string, error: unknown) => void;
}

/**
 * Applies the privacy rules to every accepted batch, before fan-out, so that the store, Loki,
 * the traces backend and the metrics all see the same scrubbed data and nothing is spooled to disk
 * unscrubbed. Runs after symbolication (whose lookups need the original frame URLs) and before
 * the error fingerprint (so no secret goes into a hash).
 *
 * Policies are compiled once here: per batch, the work is one walk over the payload's strings.
 */
export function createPrivacyEnricher(options: PrivacyEnricherOptions): Enricher {
  const globalPolicy = compilePrivacyPolicy(resolvePrivacySettings(options.global));
  const tenantPolicies = new Map<string, PrivacyPolicy>();
  for (const [tenantId, override] of options.tenants ?? []) {
    tenantPolicies.set(
      tenantId,
      compilePrivacyPolicy(resolvePrivacySettings(options.global, override)),
    );
  }

  return {
    name: 'privacy',
    enrich(batch: AcceptedBatch): void {
      const policy = tenantPolicies.get(batch.tenantId) ?? globalPolicy;
      if (!policy.enabled) return;
      try {
        const result = scrubPayload(batch.payload, policy);
        if (options.onRedactions) {
          for (const [rule, count] of Object.entries(result.byRule)) {
            options.onRedactions(batch.tenantId, rule, count);
          }
        }
      } catch (error) {
        // Fail closed: a half-scrubbed payload must not reach a sink. Only a defect gets here
        // (the payload was validated), and it is counted.
        const payload = batch.payload as Record<string, unknown>;
        for (const key of Object.keys(payload)) delete payload[key];
        options.onFailure?.(batch.tenantId, error);
      }
    },
  };
}
