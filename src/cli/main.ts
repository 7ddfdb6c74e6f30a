#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isPharosError } from '../errors/index.js';
import { VERSION } from '../version.js';
import { ApiError } from './client.js';
import { registerConfig } from './commands/config.js';
import { registerLoadgen } from './commands/loadgen.js';
import { registerRegistryCommands } from './commands/registry.js';
import { registerStart } from './commands/start.js';
import { registerPrivacyCommands } from '../enrich/privacy/cli.js';
import { registerSourcemapCommands } from '../enrich/sourcemaps/cli.js';
import { registerTelemetryCommands } from './commands/telemetry.js';

const program = new Command()
  .name('pharos')
  .description('Pharos: a multi-tenant real-user-monitoring gateway for the Grafana Faro Web SDK')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

registerStart(program);
registerConfig(program);
registerRegistryCommands(program);
registerTelemetryCommands(program);
registerSourcemapCommands(program);
registerPrivacyCommands(program);
registerLoadgen(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  if (isPharosError(error)) {
    console.error(`${error.code}: ${error.message}`);
    process.exit(error.code.startsWith('PHAROS_ERR_CONFIG') ? 2 : 1);
  }
  if (error instanceof ApiError) {
    console.error(`error: ${error.message} [${error.code}]`);
    process.exit(1);
  }
  console.error(error);
  process.exit(1);
}
