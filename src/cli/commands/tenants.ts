import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { DeletedTenant, Tenant } from '../api-types.js';
import { ApiError, createApiClient } from '../client.js';
import { isoTime, table } from '../format.js';
import { print, tenantPath, withClientOptions, type ApiOptions } from './common.js';

interface TenantFlags extends ApiOptions {
  name?: string;
  orgId?: string;
  sinks?: string;
}

export function registerTenantCommands(program: Command): void {
  const tenants = program
    .command('tenants')
    .description('list, show, create, change and delete tenants');

  withClientOptions(tenants.command('list').description('list tenants')).action(
    async (options: ApiOptions) => {
      const { tenants: rows } = await createApiClient(options).get<{ tenants: Tenant[] }>(
        '/api/v1/tenants',
      );
      print(options.json, rows, () =>
        table(
          ['id', 'name', 'org id', 'source', 'created'],
          rows.map((tenant) => [
            tenant.id,
            tenant.name,
            tenant.orgId ?? '-',
            tenant.source,
            isoTime(tenant.createdAt),
          ]),
        ),
      );
    },
  );

  withClientOptions(
    tenants.command('get').description('show a tenant').argument('<id>', 'tenant id'),
  ).action(async (id: string, options: ApiOptions) => {
    const tenant = await createApiClient(options).get<Tenant>(tenantPath(id));
    print(options.json, tenant, () => describeTenant(tenant));
  });

  withClientOptions(tenants.command('create').description('create a tenant'))
    .requiredOption('--id <id>', 'tenant id (lower-case letters, digits, dashes)')
    .option('--name <name>', 'display name')
    .option('--org-id <id>', 'X-Scope-OrgID for its Loki and Tempo data (default: the id)')
    .option('--sinks <file>', 'sink overrides, JSON or YAML as `tenants[].sinks` in the config')
    .action(async (options: TenantFlags & { id: string }) => {
      const tenant = await createApiClient(options).post<Tenant>('/api/v1/tenants', {
        id: options.id,
        ...(await tenantChanges(options)),
      });
      print(options.json, tenant, () => `created tenant ${tenant.id}`);
    });

  withClientOptions(
    tenants
      .command('update')
      .description("change a tenant's name, org id or sink overrides (admin)")
      .argument('<id>', 'tenant id'),
  )
    .option('--name <name>', 'display name')
    .option('--org-id <id>', "X-Scope-OrgID ('' for the tenant id)")
    .option('--sinks <file>', "sink overrides, JSON or YAML ('{}' in the file clears them)")
    .action(async (id: string, options: TenantFlags) => {
      const changes = await tenantChanges(options);
      if (Object.keys(changes).length === 0)
        throw new ApiError(
          'nothing to change: give --name, --org-id or --sinks',
          'PHAROS_CLI_INVALID_FLAG',
        );
      const tenant = await createApiClient(options).patch<Tenant>(tenantPath(id), changes);
      print(options.json, tenant, () => `updated tenant ${tenant.id}\n${describeTenant(tenant)}`);
    });

  withClientOptions(
    tenants.command('delete').description('delete a tenant (admin)').argument('<id>', 'tenant id'),
  )
    .option('--cascade', 'delete its apps and their keys too')
    .action(async (id: string, options: ApiOptions & { cascade?: boolean }) => {
      const deleted = await createApiClient(options).delete<DeletedTenant>(
        tenantPath(id, options.cascade ? '?cascade=true' : ''),
      );
      print(options.json, deleted, () =>
        [
          `deleted tenant ${deleted.tenant.id}`,
          ...(deleted.apps.length ? [`  apps deleted    ${deleted.apps.join(', ')}`] : []),
          ...(deleted.revokedTokens.length
            ? [`  tokens revoked  ${deleted.revokedTokens.join(', ')}`]
            : []),
        ].join('\n'),
      );
    });
}

async function tenantChanges(options: TenantFlags): Promise<Record<string, unknown>> {
  const changes: Record<string, unknown> = {};
  if (options.name !== undefined) changes.name = options.name;
  if (options.orgId !== undefined) changes.orgId = options.orgId === '' ? null : options.orgId;
  if (options.sinks !== undefined) changes.sinks = await readStructured(options.sinks);
  return changes;
}

/** A JSON or YAML file (YAML is a superset of JSON); the parser loads only when needed. */
async function readStructured(file: string): Promise<unknown> {
  const { parse } = await import('yaml');
  try {
    return parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new ApiError(
      `cannot read ${file}: ${(error as Error).message}`,
      'PHAROS_CLI_INVALID_FLAG',
    );
  }
}

function describeTenant(tenant: Tenant): string {
  return table(
    ['field', 'value'],
    [
      ['id', tenant.id],
      ['name', tenant.name],
      ['org id', tenant.orgId ?? `- (${tenant.id})`],
      ['source', tenant.source],
      ['sinks', JSON.stringify(tenant.sinks)],
      ['limits', JSON.stringify(tenant.limits)],
      ['created', isoTime(tenant.createdAt)],
      ['updated', isoTime(tenant.updatedAt)],
    ],
  );
}
