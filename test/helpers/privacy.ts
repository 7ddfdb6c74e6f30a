import { Value } from '@sinclair/typebox/value';
import {
  PrivacySettingsSchema,
  resolvePrivacySettings,
  type PrivacySettings,
  type TenantPrivacySettings,
} from '../../src/enrich/privacy/config.js';
import { compilePrivacyPolicy, type PrivacyPolicy } from '../../src/enrich/privacy/policy.js';

/** The global `privacy` block with every default, as the config loader fills it. */
export const defaultPrivacySettings = Value.Default(PrivacySettingsSchema, {}) as PrivacySettings;

/** A tenant's compiled policy: the defaults with its override. */
export function policyOf(override: TenantPrivacySettings = {}): PrivacyPolicy {
  return compilePrivacyPolicy(resolvePrivacySettings(defaultPrivacySettings, override));
}
