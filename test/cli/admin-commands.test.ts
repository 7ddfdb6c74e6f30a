import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type RunningPharos } from '../helpers/process.js';

/** `pharos tenants|apps|keys|tokens|limits|audit` against a running Pharos, as a person runs them. */
describe('the admin commands of the pharos CLI', () => {
  let dataDir: string;
  let pharos: RunningPharos;
  let client: string[];
  const cli = async (args: string[], extra: string[] = client) => {
    const result = await runCli([...args, ...extra]);
    return result;
  };
  const json = async <T>(args: string[], extra: string[] = client): Promise<T> => {
    const result = await cli([...args, '--json'], extra);
    if (result.code !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pharos-cli-admin-'));
    pharos = await startCli(['--data-dir', dataDir, '--log-level', 'warn']);
    client = ['--url', pharos.internalUrl, '--data-dir', dataDir];
  });
  afterAll(async () => {
    await pharos.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates, shows and changes a tenant', async () => {
    expect((await cli(['tenants', 'create', '--id', 'acme', '--name', 'ACME'])).stdout).toBe(
      'created tenant acme\n',
    );
    const sinks = join(dataDir, 'sinks.yaml');
    writeFileSync(sinks, 'loki:\n  url: http://loki:3100\n  labels: { team: web }\n');
    const updated = await cli([
      'tenants',
      'update',
      'acme',
      '--org-id',
      'acme-org',
      '--sinks',
      sinks,
    ]);
    expect(updated.code).toBe(0);
    expect(updated.stdout).toMatch(/^org id\s+acme-org$/m);
    const tenant = await json<{ orgId: string; sinks: unknown }>(['tenants', 'get', 'acme']);
    expect(tenant).toMatchObject({
      orgId: 'acme-org',
      sinks: { loki: { url: 'http://loki:3100', labels: { team: 'web' } } },
    });
    const list = await cli(['tenants', 'list']);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+ORG ID\s+SOURCE\s+CREATED$/m);
    expect(list.stdout).toMatch(/^acme\s+ACME\s+acme-org\s+api\s+\d{4}-/m);
  });

  it('creates an app with its settings and updates them', async () => {
    const created = await json<{ id: string; samplingRate: number; environments: string[] }>([
      'apps',
      'create',
      '--tenant',
      'acme',
      '--name',
      'Shop',
      '--origin',
      'https://shop.acme.example',
      '--environment',
      'production',
      '--sampling',
      '0.5',
    ]);
    expect(created).toMatchObject({ id: 'shop', samplingRate: 0.5, environments: ['production'] });
    const updated = await cli([
      'apps',
      'update',
      'shop',
      '--sampling',
      '0.25',
      '--origin',
      'https://a.acme.example',
      'https://b.acme.example',
      '--trace-url',
      '^https://api\\.acme\\.example/',
    ]);
    expect(updated.code).toBe(0);
    expect(updated.stdout).toMatch(/^sampling\s+0\.25$/m);
    expect(updated.stdout).toMatch(
      /^origins\s+https:\/\/a\.acme\.example, https:\/\/b\.acme\.example$/m,
    );
    const bad = await cli(['apps', 'update', 'shop', '--sampling', 'half']);
    expect(bad).toMatchObject({ code: 1 });
    expect(bad.stderr).toMatch(/--sampling half: expected a number from 0 to 1/);
  });

  it('issues a token that is printed once, works, is listed without its secret, and can be revoked', async () => {
    const created = await cli([
      'tokens',
      'create',
      '--name',
      'ci',
      '--scope',
      'tenant:acme',
      '--expires',
      '90d',
    ]);
    expect(created.code).toBe(0);
    const token = /^\s+(pha_\S+)$/m.exec(created.stdout)?.[1] as string;
    expect(token).toMatch(/^pha_/);
    expect(created.stdout).toMatch(/shown this once/);
    const asToken = ['--url', pharos.internalUrl, '--token', token];
    const apps = await json<{ id: string }[]>(['apps', 'list'], asToken);
    expect(apps.map((app) => app.id)).toEqual(['shop']);

    const list = await cli(['tokens', 'list', '--tenant', 'acme']);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+SCOPES\s+STATUS\s+CREATED\s+EXPIRES$/m);
    expect(list.stdout).toMatch(/\bci\s+tenant:acme\s+active\b/);
    expect(list.stdout).not.toContain(token);
    const id = (await json<{ id: string; name: string }[]>(['tokens', 'list'])).find(
      (each) => each.name === 'ci',
    )?.id as string;
    expect((await cli(['tokens', 'revoke', id])).stdout).toBe(`revoked token ci (id ${id})\n`);
    const refused = await cli(['apps', 'list'], asToken);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\[PHAROS_ERR_UNAUTHORIZED\]/);
  });

  it('a tenant token may not issue admin tokens', async () => {
    const created = await json<{ token: string }>([
      'tokens',
      'create',
      '--name',
      'acme',
      '--scope',
      'tenant:acme',
    ]);
    const result = await cli(
      ['tokens', 'create', '--name', 'x', '--scope', 'admin'],
      ['--url', pharos.internalUrl, '--token', created.token],
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /only an admin token may issue admin tokens \[PHAROS_ERR_FORBIDDEN\]/,
    );
  });

  it('sets, shows and clears limits with readable flags', async () => {
    const set = await cli([
      'limits',
      'set',
      '--tenant',
      'acme',
      '--requests',
      '100/s',
      '--burst',
      '200',
      '--kind',
      'log=3000/m',
    ]);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^LIMIT\s+OWN\s+DEFAULT\s+EFFECTIVE$/m);
    // Own, then the configured default of every tenant (limits.tenant), then what is in force.
    expect(set.stdout).toMatch(
      /^requests\s+100\/s burst 200\s+1000\/s burst 2000\s+100\/s burst 200$/m,
    );
    expect(set.stdout).toMatch(/^kind log\s+50\/s burst 200/m);
    const limits = await json<{ limits: unknown }>(['limits', 'get', '--tenant', 'acme']);
    expect(limits.limits).toEqual({
      requests: { perSecond: 100, burst: 200 },
      kinds: { log: { perSecond: 50, burst: 200 } },
    });
    await cli(['limits', 'set', '--app', 'shop', '--bytes', '1MiB/s']);
    expect((await json<{ limits: unknown }>(['limits', 'get', '--app', 'shop'])).limits).toEqual({
      bytes: { perSecond: 1048576, burst: 1048576 },
    });
    const cleared = await json<{ limits: unknown }>([
      'limits',
      'clear',
      '--tenant',
      'acme',
      '--requests',
    ]);
    expect(cleared.limits).toEqual({ kinds: { log: { perSecond: 50, burst: 200 } } });
    const bad = await cli(['limits', 'set', '--tenant', 'acme', '--requests', 'fast']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--requests "fast": expected a rate such as 100\/s/);
    expect((await cli(['limits', 'get'])).stderr).toMatch(/name one of --tenant or --app/);
  });

  it('revokes one key', async () => {
    const app = await json<{ keys: { key: string }[] }>(['apps', 'get', 'shop']);
    await cli(['keys', 'rotate', '--app', 'shop', '--grace', '1h']);
    const old = app.keys[0]?.key as string;
    const revoked = await cli(['keys', 'revoke', old, '--app', 'shop']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked key ${old} of app shop`);
    const post = await fetch(`${pharos.publicUrl}/collect/${old}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ name: 'x' }] }),
    });
    expect(post.status).toBe(401);
  });

  it('shows the audit log of a tenant, newest first, paged', async () => {
    const result = await cli(['audit', '--tenant', 'acme', '--limit', '3']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TIME\s+ACTOR\s+ACTION\s+TARGET\s+TENANT$/);
    expect(lines[1]).toMatch(/key\.revoke\s+app:shop\s+acme$/);
    expect(lines[4]).toMatch(/^\(older entries: --before \d+\)$/);
    const page = await json<{ entries: { action: string; tenantId: string }[] }>([
      'audit',
      '--tenant',
      'acme',
      '--limit',
      '500',
    ]);
    expect(page.entries.every((entry) => entry.tenantId === 'acme')).toBe(true);
    expect(page.entries.map((entry) => entry.action)).toContain('tenant.update');
  });

  it('deletes an app, then the tenant (with --cascade when it has apps)', async () => {
    await cli(['apps', 'create', '--tenant', 'acme', '--name', 'Blog']);
    expect((await cli(['apps', 'delete', 'blog'])).stdout).toBe(
      'deleted app blog of tenant acme\n',
    );
    const refused = await cli(['tenants', 'delete', 'acme']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/still has 1 app\(s\) \(shop\).*\[PHAROS_ERR_CONFLICT\]/);
    const deleted = await cli(['tenants', 'delete', 'acme', '--cascade']);
    expect(deleted.stdout).toMatch(
      /^deleted tenant acme\n {2}apps deleted {4}shop\n {2}tokens revoked {2}\w+/,
    );
  });
});
