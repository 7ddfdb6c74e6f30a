import type { Command } from 'commander';
import type { Audit } from '../api-types.js';
import { createApiClient } from '../client.js';
import { isoTime, table } from '../format.js';
import { print, withClientOptions, type ApiOptions } from './common.js';

export function registerAuditCommand(program: Command): void {
  withClientOptions(
    program.command('audit').description('changes made through the API, newest first'),
  )
    .option('--tenant <id>', "only this tenant's changes")
    .option('--limit <n>', 'entries per page (at most 500)', '50')
    .option('--before <id>', 'entries older than this id (the next page)')
    .action(async (options: ApiOptions & { tenant?: string; limit: string; before?: string }) => {
      const query = new URLSearchParams({ limit: options.limit });
      if (options.tenant !== undefined) query.set('tenant', options.tenant);
      if (options.before !== undefined) query.set('before', options.before);
      const page = await createApiClient(options).get<Audit>(`/api/v1/audit?${query.toString()}`);
      print(options.json, page, () => {
        const rows = table(
          ['id', 'time', 'actor', 'action', 'target', 'tenant'],
          page.entries.map((entry) => [
            String(entry.id),
            isoTime(entry.at),
            entry.actor,
            entry.action,
            entry.target,
            entry.tenantId ?? '-',
          ]),
        );
        return page.nextBefore === null
          ? rows
          : `${rows}\n(older entries: --before ${page.nextBefore})`;
      });
    });
}
