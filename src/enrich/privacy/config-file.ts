import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { readConfigFile } from '../../config/load.js';
import { PharosError } from '../../errors/index.js';
import {
  PrivacySettingsSchema,
  TenantPrivacySchema,
  privacyConfigProblems,
  type PrivacySettings,
  type TenantPrivacySettings,
} from './config.js';

export interface PrivacyConfig {
  global: PrivacySettings;
  tenants: Map<string, TenantPrivacySettings>;
}

/**
 * Reads the privacy settings of a configuration file: the `privacy` block and each declared
 * tenant's `privacy`, checked with the same schema as `pharos start`. Only the file is read
 * (no `PHAROS_*` variables): the dry-run shows what a file's rules do, offline.
 */
export function readPrivacyConfigFile(file: string): PrivacyConfig {
  return privacyConfigOf(readConfigFile(file), file);
}

/** The privacy settings of a configuration object (as read from YAML). */
export function privacyConfigOf(config: unknown, source = 'the configuration'): PrivacyConfig {
  const root = isRecord(config) ? config : {};
  const global = checked<PrivacySettings>(PrivacySettingsSchema, root.privacy, 'privacy', source);
  const tenants = new Map<string, TenantPrivacySettings>();
  const declared = Array.isArray(root.tenants) ? (root.tenants as unknown[]) : [];
  declared.forEach((tenant, index) => {
    if (!isRecord(tenant) || typeof tenant.id !== 'string') return;
    if (tenant.privacy === undefined) {
      tenants.set(tenant.id, {});
      return;
    }
    const path = `tenants[${index}].privacy`;
    tenants.set(
      tenant.id,
      checked<TenantPrivacySettings>(TenantPrivacySchema, tenant.privacy, path, source),
    );
  });
  return { global, tenants };
}

function checked<T>(schema: TSchema, value: unknown, path: string, source: string): T {
  const withDefaults = Value.Default(schema, structuredClone(value ?? {}));
  const error = Value.Errors(schema, withDefaults).First();
  if (error) {
    const where = `${path}${error.path.replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.')}`;
    const got = error.value === undefined ? '' : ` (got ${JSON.stringify(error.value)})`;
    throw new PharosError(
      'CONFIG_INVALID',
      `${where}: ${error.message.toLowerCase()}${got} (in ${source})`,
    );
  }
  const problem = privacyConfigProblems(withDefaults as PrivacySettings, path)[0];
  if (problem) {
    throw new PharosError('CONFIG_INVALID', `${problem.path}: ${problem.reason} (in ${source})`);
  }
  return withDefaults as T;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
