import type { Command } from 'commander';
import { createApiClient, type ClientOptions } from '../client.js';
import { isoTime, table } from '../format.js';

interface AppView {
  id: string;
  tenantId: string;
  name: string;
  allowedOrigins: string[];
  source: string;
  keys: { key: string; createdAt: number; expiresAt: number | null }[];
  ingestUrl: string;
}

interface Tenant {
  id: string;
  name: string;
  source: string;
  createdAt: number;
}

/** Adds the options every API command shares. */
export function withClientOptions(command: Command): Command {
  return command
    .option(
      '--url <url>',
      'internal listener URL (also PHAROS_URL; default http://127.0.0.1:12348)',
    )
    .option('--token <token>', 'admin token (also PHAROS_TOKEN; default: <data dir>/admin-token)')
    .option('--data-dir <dir>', 'where to find admin-token (default ./pharos-data)')
    .option('--json', 'print JSON instead of a table');
}

const print = (json: boolean | undefined, value: unknown, text: () => string) =>
  console.log(json ? JSON.stringify(value, null, 2) : text());

export function registerRegistryCommands(program: Command): void {
  const tenants = program.command('tenants').description('list and create tenants');
  withClientOptions(tenants.command('list').description('list tenants')).action(
    async (options: ClientOptions & { json?: boolean }) => {
      const { tenants: rows } = await createApiClient(options).get<{ tenants: Tenant[] }>(
        '/api/v1/tenants',
      );
      print(options.json, rows, () =>
        table(
          ['id', 'name', 'source', 'created'],
          rows.map((tenant) => [tenant.id, tenant.name, tenant.source, isoTime(tenant.createdAt)]),
        ),
      );
    },
  );
  withClientOptions(tenants.command('create').description('create a tenant'))
    .requiredOption('--id <id>', 'tenant id (lower-case letters, digits, dashes)')
    .option('--name <name>', 'display name')
    .action(async (options: ClientOptions & { json?: boolean; id: string; name?: string }) => {
      const tenant = await createApiClient(options).post<Tenant>('/api/v1/tenants', {
        id: options.id,
        name: options.name,
      });
      print(options.json, tenant, () => `created tenant ${tenant.id}`);
    });

  const apps = program.command('apps').description('list and create apps');
  withClientOptions(apps.command('list').description('list apps with their keys'))
    .option('--tenant <id>', 'only the apps of this tenant')
    .action(async (options: ClientOptions & { json?: boolean; tenant?: string }) => {
      const query = options.tenant ? `?tenant=${encodeURIComponent(options.tenant)}` : '';
      const { apps: rows } = await createApiClient(options).get<{ apps: AppView[] }>(
        `/api/v1/apps${query}`,
      );
      print(options.json, rows, () =>
        table(
          ['app', 'tenant', 'name', 'source', 'origins', 'keys', 'ingest url'],
          rows.map((app) => [
            app.id,
            app.tenantId,
            app.name,
            app.source,
            app.allowedOrigins.join(',') || '(any)',
            String(
              app.keys.filter((key) => key.expiresAt === null || key.expiresAt > Date.now()).length,
            ),
            app.ingestUrl,
          ]),
        ),
      );
    });
  withClientOptions(apps.command('create').description('create an app and its first key'))
    .requiredOption('--tenant <id>', 'tenant the app belongs to')
    .requiredOption('--name <name>', 'display name')
    .option('--id <id>', 'app id (default: derived from the name)')
    .option('--origin <origin...>', 'allowed browser origins (default: any)')
    .action(
      async (
        options: ClientOptions & {
          json?: boolean;
          tenant: string;
          name: string;
          id?: string;
          origin?: string[];
        },
      ) => {
        const id =
          options.id ??
          options.name
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, '-')
            .replace(/^-+|-+$/g, '');
        const created = await createApiClient(options).post<AppView & { key: string }>(
          '/api/v1/apps',
          {
            tenantId: options.tenant,
            id,
            name: options.name,
            allowedOrigins: options.origin ?? [],
          },
        );
        print(options.json, created, () =>
          [
            `created app ${created.id} in tenant ${created.tenantId}`,
            `  key         ${created.key}`,
            `  ingest URL  ${created.ingestUrl}`,
          ].join('\n'),
        );
      },
    );

  const keys = program.command('keys').description('manage app keys');
  withClientOptions(
    keys
      .command('rotate')
      .description('issue a new key; the old ones stay valid for a grace period'),
  )
    .requiredOption('--app <id>', 'app whose key to rotate')
    .option('--grace <duration>', 'how long the old keys keep working', '24h')
    .action(async (options: ClientOptions & { json?: boolean; app: string; grace: string }) => {
      const rotated = await createApiClient(options).post<{
        key: string;
        previousKeysExpireAt: string;
        ingestUrl: string;
      }>(`/api/v1/apps/${encodeURIComponent(options.app)}/keys/rotate`, { grace: options.grace });
      print(options.json, rotated, () =>
        [
          `new key for app ${options.app}: ${rotated.key}`,
          `  ingest URL       ${rotated.ingestUrl}`,
          `  old keys expire  ${rotated.previousKeysExpireAt}`,
        ].join('\n'),
      );
    });
  withClientOptions(keys.command('list').description("list an app's keys"))
    .requiredOption('--app <id>', 'app')
    .action(async (options: ClientOptions & { json?: boolean; app: string }) => {
      const { keys: rows } = await createApiClient(options).get<{ keys: AppView['keys'] }>(
        `/api/v1/apps/${encodeURIComponent(options.app)}/keys`,
      );
      print(options.json, rows, () =>
        table(
          ['key', 'created', 'expires'],
          rows.map((key) => [
            key.key,
            isoTime(key.createdAt),
            key.expiresAt === null ? 'never' : isoTime(key.expiresAt),
          ]),
        ),
      );
    });
}
