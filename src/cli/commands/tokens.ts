import type { Command } from 'commander';
import { parseDuration } from '../../lib/units.js';
import type { NewToken, Token } from '../api-types.js';
import { ApiError, createApiClient } from '../client.js';
import { isoTime, table } from '../format.js';
import { collect, print, withClientOptions, type ApiOptions } from './common.js';

export function registerTokenCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .description('issue, list and revoke API tokens (shown once, stored hashed)');

  withClientOptions(tokens.command('list').description('list tokens, without their secrets'))
    .option('--tenant <id>', 'only the tokens of this tenant')
    .action(async (options: ApiOptions & { tenant?: string }) => {
      const query = options.tenant ? `?tenant=${encodeURIComponent(options.tenant)}` : '';
      const { tokens: rows } = await createApiClient(options).get<{ tokens: Token[] }>(
        `/api/v1/tokens${query}`,
      );
      print(options.json, rows, () =>
        table(
          ['id', 'name', 'scopes', 'status', 'created', 'expires'],
          rows.map((token) => [
            token.id,
            token.name,
            token.scopes.join(','),
            status(token),
            isoTime(token.createdAt),
            token.expiresAt === null ? 'never' : isoTime(token.expiresAt),
          ]),
        ),
      );
    });

  withClientOptions(
    tokens
      .command('create')
      .description('issue a token; it is printed once and cannot be shown again'),
  )
    .requiredOption('--name <name>', 'what it is for (ci-shop)')
    .requiredOption(
      '--scope <scope>',
      'admin, tenant:<id> or sourcemaps:<app> (repeatable)',
      collect,
    )
    .option(
      '--expires <when>',
      'a duration (90d) or an RFC 3339 time; default: never (or when your token does)',
    )
    .action(async (options: ApiOptions & { name: string; scope: string[]; expires?: string }) => {
      const created = await createApiClient(options).post<NewToken>('/api/v1/tokens', {
        name: options.name,
        scopes: options.scope,
        ...expiry(options.expires),
      });
      print(options.json, created, () =>
        [
          `created token ${created.name} (id ${created.id}), scopes ${created.scopes.join(', ')}, expires ${created.expiresAt === null ? 'never' : isoTime(created.expiresAt)}`,
          '',
          `  ${created.token}`,
          '',
          'Store it now: it is shown this once.',
        ].join('\n'),
      );
    });

  withClientOptions(
    tokens.command('get').description('show a token (not its secret)').argument('<id>', 'token id'),
  ).action(async (id: string, options: ApiOptions) => {
    const token = await createApiClient(options).get<Token>(
      `/api/v1/tokens/${encodeURIComponent(id)}`,
    );
    print(options.json, token, () =>
      table(
        ['id', 'name', 'scopes', 'status', 'created', 'expires'],
        [
          [
            token.id,
            token.name,
            token.scopes.join(','),
            status(token),
            isoTime(token.createdAt),
            token.expiresAt === null ? 'never' : isoTime(token.expiresAt),
          ],
        ],
      ),
    );
  });

  withClientOptions(
    tokens.command('revoke').description('refuse a token from now on').argument('<id>', 'token id'),
  ).action(async (id: string, options: ApiOptions) => {
    const token = await createApiClient(options).delete<Token>(
      `/api/v1/tokens/${encodeURIComponent(id)}`,
    );
    print(options.json, token, () => `revoked token ${token.name} (id ${token.id})`);
  });
}

/** `--expires 90d` → expiresIn, `--expires 2027-01-01` → expiresAt, `never` → nothing. */
function expiry(value: string | undefined): { expiresIn?: string; expiresAt?: string } {
  if (value === undefined || value === 'never') return {};
  if (parseDuration(value) !== undefined) return { expiresIn: value };
  const at = Date.parse(value);
  if (!Number.isFinite(at))
    throw new ApiError(
      `--expires ${value}: expected a duration (90d) or a time (2027-01-01)`,
      'PHAROS_CLI_INVALID_FLAG',
    );
  return { expiresAt: new Date(at).toISOString() };
}

function status(token: Token): string {
  if (token.revokedAt !== null) return `revoked ${isoTime(token.revokedAt)}`;
  if (token.expiresAt !== null && token.expiresAt <= Date.now()) return 'expired';
  return 'active';
}
