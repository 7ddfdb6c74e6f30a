import type { Command } from 'commander';
import type { LimitsAnswer } from '../api-types.js';
import { ApiError, createApiClient } from '../client.js';
import { table } from '../format.js';
import { applyLimitFlags, clearLimits, limitRows, type LimitFlags } from '../limits-flags.js';
import {
  appPath,
  collect,
  print,
  tenantPath,
  withClientOptions,
  type ApiOptions,
} from './common.js';

type Target = ApiOptions & { tenant?: string; app?: string };

function withTarget(command: Command): Command {
  return withClientOptions(command)
    .option('--tenant <id>', "the tenant's limits")
    .option('--app <id>', "the app's limits");
}

function limitsPath(options: Target): string {
  if ((options.tenant === undefined) === (options.app === undefined))
    throw new ApiError('name one of --tenant or --app', 'PHAROS_CLI_INVALID_FLAG');
  return options.tenant !== undefined
    ? tenantPath(options.tenant, '/limits')
    : appPath(options.app as string, '/limits');
}

function show(options: Target, answer: LimitsAnswer, heading: string): void {
  print(options.json, answer, () =>
    [heading, table(['limit', 'own', 'default', 'effective'], limitRows(answer))].join('\n'),
  );
}

export function registerLimitCommands(program: Command): void {
  const limits = program
    .command('limits')
    .description("show and set a tenant's or an app's token-bucket limits");

  withTarget(limits.command('get').description('own, default and effective limits')).action(
    async (options: Target) => {
      const path = limitsPath(options);
      show(
        options,
        await createApiClient(options).get<LimitsAnswer>(path),
        `limits of ${target(options)}`,
      );
    },
  );

  withTarget(
    limits
      .command('set')
      .description('set limits (admin); the ones not named stay as they are')
      .addHelpText(
        'after',
        '\nRates: 100/s, 6000/m, 5MiB/s (bytes); a burst of its own after a colon: 100/s:200.\nExample: pharos limits set --tenant acme --requests 100/s --burst 200 --kind log=50/s',
      ),
  )
    .option('--requests <rate>', 'requests per second (checked before the body is read)')
    .option('--items <rate>', 'telemetry items per second')
    .option('--bytes <rate>', 'decoded body bytes per second')
    .option(
      '--kind <kind=rate>',
      'items of one kind: log, exception, measurement, event, span (repeatable)',
      collect,
    )
    .option('--burst <n>', 'burst of the rates given without one (default: one second’s worth)')
    .action(async (options: Target & LimitFlags) => {
      const path = limitsPath(options);
      const client = createApiClient(options);
      const current = await client.get<LimitsAnswer>(path);
      const answer = await client.put<LimitsAnswer>(path, applyLimitFlags(current.limits, options));
      show(options, answer, `limits of ${target(options)} set`);
    });

  withTarget(
    limits
      .command('clear')
      .description('remove limits (admin): the named ones, or all; the defaults apply again'),
  )
    .option('--requests', 'the requests limit')
    .option('--items', 'the items limit')
    .option('--bytes', 'the bytes limit')
    .option('--kind <kind>', 'the limit of one kind (repeatable)', collect)
    .action(
      async (
        options: Target & { requests?: boolean; items?: boolean; bytes?: boolean; kind?: string[] },
      ) => {
        const path = limitsPath(options);
        const client = createApiClient(options);
        const current = await client.get<LimitsAnswer>(path);
        const answer = await client.put<LimitsAnswer>(path, clearLimits(current.limits, options));
        show(options, answer, `limits of ${target(options)} cleared`);
      },
    );
}

function target(options: Target): string {
  return options.tenant !== undefined ? `tenant ${options.tenant}` : `app ${options.app ?? ''}`;
}
