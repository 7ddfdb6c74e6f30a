import type { Command } from 'commander';
import type { ClientOptions } from '../client.js';

/** The options of every command that talks to a running Pharos, as commander hands them over. */
export type ApiOptions = ClientOptions & { json?: boolean };

/** Adds the options every API command shares. */
export function withClientOptions(command: Command): Command {
  return command
    .option(
      '--url <url>',
      'internal listener URL (also PHAROS_URL; default http://127.0.0.1:12348)',
    )
    .option('--token <token>', 'API token (also PHAROS_TOKEN; default: <data dir>/admin-token)')
    .option('--data-dir <dir>', 'where to find admin-token (default ./pharos-data)')
    .option('--json', 'print JSON instead of a table');
}

/** Prints JSON with `--json`, the text otherwise: the one way every command answers. */
export function print(json: boolean | undefined, value: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text());
}

/** `/api/v1/apps/<id>`, with the id escaped. */
export const appPath = (id: string, rest = '') => `/api/v1/apps/${encodeURIComponent(id)}${rest}`;
export const tenantPath = (id: string, rest = '') =>
  `/api/v1/tenants/${encodeURIComponent(id)}${rest}`;

/** Commander's collector for repeatable options (`--scope a --scope b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A list flag given as `''` clears the list: `--origin ''` means "any origin". */
export function listValue(values: string[] | undefined): string[] | undefined {
  return values
    ?.flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean);
}
