import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('work with configuration files');
  config
    .command('check <file>')
    .description('validate a configuration file (and PHAROS_* variables) without starting')
    .action((file: string) => {
      const loaded = loadConfig({ file });
      const apps = loaded.tenants.reduce((count, tenant) => count + tenant.apps.length, 0);
      console.log(`${file}: ok (${loaded.tenants.length} tenants, ${apps} apps declared)`);
    });
}
