import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseJsonBody } from '../../decode/index.js';
import { PharosError } from '../../errors/index.js';
import { PrivacySettingsSchema, resolvePrivacySettings, type PrivacySettings } from './config.js';
import { readPrivacyConfigFile, type PrivacyConfig } from './config-file.js';
import { formatDryRun, privacyDryRun } from './dry-run.js';
import { Value } from '@sinclair/typebox/value';

interface DryRunOptions {
  config?: string;
  tenant?: string;
  json?: boolean;
}

/** Deepest nesting read from a payload file, as ingest's default `ingest.maxJsonDepth`. */
const MAX_DEPTH = 64;

/**
 * `pharos privacy dry-run [--config pharos.yaml] [--tenant t] [--json] <payload.json | ->`:
 * prints what the privacy rules would change in a payload (field path: before → after). Works
 * offline from the file: no running Pharos, no admin token.
 */
export function registerPrivacyCommands(program: Command): void {
  const privacy = program.command('privacy').description('check the privacy rules');
  privacy
    .command('dry-run <payload>')
    .description(
      'show what the privacy rules would change in a Faro payload (a JSON file, or - for stdin); offline',
    )
    .option('--config <file>', 'configuration file with the rules (default: the built-in rules)')
    .option('--tenant <id>', "apply this declared tenant's overrides")
    .option('--json', 'print {changes, byRule, payload} as JSON')
    .action((payloadFile: string, options: DryRunOptions) => {
      const config = options.config ? readPrivacyConfigFile(options.config) : defaultConfig();
      const settings = resolvePrivacySettings(
        config.global,
        tenantOverride(config, options.tenant),
      );
      const body = parseJsonBody(readPayload(payloadFile), MAX_DEPTH);
      const report = privacyDryRun(body, settings);
      const output = options.json
        ? JSON.stringify(
            { changes: report.changes, byRule: report.byRule, payload: report.scrubbed },
            null,
            2,
          )
        : formatDryRun(report);
      process.stdout.write(`${output}\n`);
    });
}

function defaultConfig(): PrivacyConfig {
  return {
    global: Value.Default(PrivacySettingsSchema, {}) as PrivacySettings,
    tenants: new Map(),
  };
}

function tenantOverride(config: PrivacyConfig, tenant: string | undefined) {
  if (tenant === undefined) return undefined;
  const override = config.tenants.get(tenant);
  if (override === undefined) {
    const known = [...config.tenants.keys()];
    throw new PharosError(
      'NOT_FOUND',
      `tenant ${tenant} is not declared in the configuration${known.length > 0 ? ` (declared: ${known.join(', ')})` : ''}`,
    );
  }
  return override;
}

function readPayload(file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (error) {
    throw new PharosError('INVALID_REQUEST', `cannot read ${file}: ${(error as Error).message}`);
  }
}
