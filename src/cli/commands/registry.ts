import type { Command } from 'commander';
import { registerAppCommands } from './apps.js';
import { registerAuditCommand } from './audit.js';
import { registerKeyCommands } from './keys.js';
import { registerLimitCommands } from './limits.js';
import { registerTenantCommands } from './tenants.js';
import { registerTokenCommands } from './tokens.js';

// Other folders' commands (source maps) import the shared options from here.
export { withClientOptions } from './common.js';

/** `pharos tenants|apps|keys|tokens|limits|audit`: the admin API from the command line. */
export function registerRegistryCommands(program: Command): void {
  registerTenantCommands(program);
  registerAppCommands(program);
  registerKeyCommands(program);
  registerTokenCommands(program);
  registerLimitCommands(program);
  registerAuditCommand(program);
}
