import type { Command } from 'commander';
import type { Key, RevokedKey, Rotated } from '../api-types.js';
import { createApiClient } from '../client.js';
import { isoTime, table } from '../format.js';
import { appPath, print, withClientOptions, type ApiOptions } from './common.js';

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('list, rotate and revoke app keys');

  withClientOptions(keys.command('list').description("list an app's keys"))
    .requiredOption('--app <id>', 'app')
    .action(async (options: ApiOptions & { app: string }) => {
      const { keys: rows } = await createApiClient(options).get<{ keys: Key[] }>(
        appPath(options.app, '/keys'),
      );
      print(options.json, rows, () => keyTable(rows));
    });

  withClientOptions(
    keys
      .command('rotate')
      .description('issue a new key; the old ones stay valid for a grace period'),
  )
    .requiredOption('--app <id>', 'app whose key to rotate')
    .option('--grace <duration>', 'how long the old keys keep working', '24h')
    .action(async (options: ApiOptions & { app: string; grace: string }) => {
      const rotated = await createApiClient(options).post<Rotated>(
        appPath(options.app, '/keys/rotate'),
        { grace: options.grace },
      );
      print(options.json, rotated, () =>
        [
          `new key for app ${options.app}: ${rotated.key}`,
          `  ingest URL       ${rotated.ingestUrl}`,
          `  old keys expire  ${rotated.previousKeysExpireAt}`,
        ].join('\n'),
      );
    });

  withClientOptions(
    keys
      .command('revoke')
      .description('refuse one key from now on (a leaked key); no grace period')
      .argument('<key>', 'the key'),
  )
    .requiredOption('--app <id>', 'app the key belongs to')
    .action(async (key: string, options: ApiOptions & { app: string }) => {
      const answer = await createApiClient(options).delete<RevokedKey>(
        appPath(options.app, `/keys/${encodeURIComponent(key)}`),
      );
      print(options.json, answer, () =>
        [
          `revoked key ${answer.revoked.key} of app ${options.app}; keys left:`,
          keyTable(answer.keys),
        ].join('\n'),
      );
    });
}

function keyTable(rows: Key[]): string {
  return table(
    ['key', 'created', 'expires'],
    rows.map((key) => [
      key.key,
      isoTime(key.createdAt),
      key.expiresAt === null ? 'never' : isoTime(key.expiresAt),
    ]),
  );
}
