import type { Command } from 'commander';
import { slugify } from '../../lib/ids.js';
import type { App, AppWithKey, DeletedApp } from '../api-types.js';
import { ApiError, createApiClient } from '../client.js';
import { isoTime, table } from '../format.js';
import { appPath, listValue, print, withClientOptions, type ApiOptions } from './common.js';

interface SettingFlags extends ApiOptions {
  name?: string;
  origin?: string[];
  environment?: string[];
  sampling?: string;
  traceUrl?: string[];
  ignoreUrl?: string[];
}

/** The setting flags `apps create` and `apps update` share. */
function withSettingFlags(command: Command): Command {
  return command
    .option('--origin <origins...>', "allowed browser origins ('' for any)")
    .option('--environment <names...>', "environments the app reports ('' for any)")
    .option('--sampling <rate>', 'share of sessions kept, 0..1')
    .option('--trace-url <patterns...>', 'URL regular expressions that get a traceparent header')
    .option('--ignore-url <patterns...>', 'URL regular expressions the SDK does not instrument');
}

export function registerAppCommands(program: Command): void {
  const apps = program.command('apps').description('list, show, create, change and delete apps');

  withClientOptions(apps.command('list').description('list apps with their keys'))
    .option('--tenant <id>', 'only the apps of this tenant')
    .action(async (options: ApiOptions & { tenant?: string }) => {
      const query = options.tenant ? `?tenant=${encodeURIComponent(options.tenant)}` : '';
      const { apps: rows } = await createApiClient(options).get<{ apps: App[] }>(
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

  withClientOptions(
    apps.command('get').description('show an app and its settings').argument('<id>', 'app id'),
  ).action(async (id: string, options: ApiOptions) => {
    const app = await createApiClient(options).get<App>(appPath(id));
    print(options.json, app, () => describeApp(app));
  });

  withClientOptions(
    withSettingFlags(apps.command('create').description('create an app and its first key')),
  )
    .requiredOption('--tenant <id>', 'tenant the app belongs to')
    .requiredOption('--name <name>', 'display name')
    .option('--id <id>', 'app id (default: derived from the name)')
    .action(async (options: SettingFlags & { tenant: string; name: string; id?: string }) => {
      const created = await createApiClient(options).post<AppWithKey>('/api/v1/apps', {
        tenantId: options.tenant,
        id: options.id ?? slugify(options.name),
        name: options.name,
        allowedOrigins: [],
        ...settingChanges(options),
      });
      print(options.json, created, () =>
        [
          `created app ${created.id} in tenant ${created.tenantId}`,
          `  key         ${created.key}`,
          `  ingest URL  ${created.ingestUrl}`,
        ].join('\n'),
      );
    });

  withClientOptions(
    withSettingFlags(
      apps
        .command('update')
        .description("change an app's settings (each one given replaces the current value)")
        .argument('<id>', 'app id'),
    ),
  )
    .option('--name <name>', 'display name')
    .action(async (id: string, options: SettingFlags) => {
      const changes = settingChanges(options);
      if (Object.keys(changes).length === 0)
        throw new ApiError(
          'nothing to change: give --name, --origin, --environment, --sampling, --trace-url or --ignore-url',
          'PHAROS_CLI_INVALID_FLAG',
        );
      const app = await createApiClient(options).patch<App>(appPath(id), changes);
      print(options.json, app, () => `updated app ${app.id}\n${describeApp(app)}`);
    });

  withClientOptions(
    apps
      .command('delete')
      .description('delete an app, its keys and its source maps')
      .argument('<id>', 'app id'),
  ).action(async (id: string, options: ApiOptions) => {
    const deleted = await createApiClient(options).delete<DeletedApp>(appPath(id));
    print(options.json, deleted, () =>
      [
        `deleted app ${deleted.app.id} of tenant ${deleted.app.tenantId}`,
        ...(deleted.revokedTokens.length
          ? [`  tokens revoked  ${deleted.revokedTokens.join(', ')}`]
          : []),
      ].join('\n'),
    );
  });
}

function settingChanges(options: SettingFlags): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  if (options.name !== undefined) changes.name = options.name;
  const lists = {
    allowedOrigins: options.origin,
    environments: options.environment,
    tracePropagationUrls: options.traceUrl,
    ignoreUrls: options.ignoreUrl,
  };
  for (const [field, values] of Object.entries(lists)) {
    // Patterns may hold commas ({2,3}): only origins and environments are split on them.
    const list =
      field === 'allowedOrigins' || field === 'environments'
        ? listValue(values)
        : values?.filter((value) => value !== '');
    if (list !== undefined) changes[field] = list;
  }
  if (options.sampling !== undefined) {
    const rate = Number(options.sampling);
    if (options.sampling.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1)
      throw new ApiError(
        `--sampling ${options.sampling}: expected a number from 0 to 1`,
        'PHAROS_CLI_INVALID_FLAG',
      );
    changes.samplingRate = rate;
  }
  return changes;
}

function describeApp(app: App): string {
  const list = (values: string[], empty: string) => (values.length ? values.join(', ') : empty);
  return table(
    ['field', 'value'],
    [
      ['id', app.id],
      ['tenant', app.tenantId],
      ['name', app.name],
      ['source', app.source],
      ['origins', list(app.allowedOrigins, '(any)')],
      ['environments', list(app.environments, '(any)')],
      ['sampling', String(app.samplingRate)],
      ['trace urls', list(app.tracePropagationUrls, '-')],
      ['ignore urls', list(app.ignoreUrls, '-')],
      ['limits', JSON.stringify(app.limits)],
      ['ingest url', app.ingestUrl || '(no live key)'],
      ['created', isoTime(app.createdAt)],
      ['updated', isoTime(app.updatedAt)],
    ],
  );
}
