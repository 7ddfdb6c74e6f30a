import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, startCli, type RunningPharos } from '../helpers/process.js';

const post = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('the pharos CLI against a running Pharos', () => {
  let dataDir: string;
  let pharos: RunningPharos;
  let client: string[];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pharos-cli-'));
    pharos = await startCli(['--data-dir', dataDir, '--log-level', 'warn']);
    client = ['--url', pharos.internalUrl, '--data-dir', dataDir];
  });
  afterAll(async () => {
    await pharos.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the demo ingest URL with its key on the first start, and the key works', async () => {
    const url = /ingest URL for the Faro SDK:\s+(\S+)/.exec(pharos.banner)?.[1] as string;
    expect(url).toMatch(new RegExp(`^${pharos.publicUrl}/collect/pk_[A-Za-z0-9]{32}$`));
    expect((await post(url, { events: [{ name: 'hello' }] })).status).toBe(202);
    expect(pharos.banner).toContain(`${pharos.internalUrl}/demo`);
  });

  it('lists apps as a table and as JSON', async () => {
    const text = await runCli(['apps', 'list', ...client]);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(
      /^APP\s+TENANT\s+NAME\s+SOURCE\s+ORIGINS\s+KEYS\s+INGEST URL$/,
    );
    expect(text.stdout).toMatch(
      /^demo\s+demo\s+Demo app\s+demo\s+http:\/\/127\.0\.0\.1:\d+,http:\/\/localhost:\d+\s+1\s+http/m,
    );
    const json = await runCli(['apps', 'list', '--json', ...client]);
    expect((JSON.parse(json.stdout) as { id: string }[]).map((app) => app.id)).toEqual(['demo']);
  });

  it('creates an app, rotates its key, and the old key stops working after the grace period', async () => {
    const created = await runCli([
      'apps',
      'create',
      '--tenant',
      'demo',
      '--name',
      'Web Shop',
      '--origin',
      'https://shop.example',
      '--json',
      ...client,
    ]);
    expect(created.stderr).toBe('');
    const app = JSON.parse(created.stdout) as {
      id: string;
      key: string;
      ingestUrl: string;
      allowedOrigins: string[];
    };
    expect(app.id).toBe('web-shop');
    expect(app.allowedOrigins).toEqual(['https://shop.example']);
    expect((await post(app.ingestUrl, { logs: [{ message: 'from the new app' }] })).status).toBe(
      202,
    );

    const rotated = await runCli([
      'keys',
      'rotate',
      '--app',
      'web-shop',
      '--grace',
      '0s',
      ...client,
    ]);
    expect(rotated.code).toBe(0);
    const newKey = /new key for app web-shop: (\S+)/.exec(rotated.stdout)?.[1] as string;
    expect(newKey).toMatch(/^pk_/);
    expect((await post(app.ingestUrl, { logs: [{ message: 'old key' }] })).status).toBe(401);
    expect(
      (await post(`${pharos.publicUrl}/collect/${newKey}`, { logs: [{ message: 'new key' }] }))
        .status,
    ).toBe(202);

    const keys = await runCli(['keys', 'list', '--app', 'web-shop', ...client]);
    expect(keys.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('queries stored items', async () => {
    let lines: string[] = [];
    for (let attempt = 0; attempt < 20 && lines.length < 2; attempt++) {
      const result = await runCli([
        'query',
        'logs',
        '--app',
        'web-shop',
        '--order',
        'asc',
        ...client,
      ]);
      lines = result.stdout.trim().split('\n').filter(Boolean);
      if (lines.length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S*Z\s+log\s+log: from the new app$/);
    expect(lines[1]).toMatch(/log: new key$/);
  });

  it('follows new items with tail', async () => {
    const tail = spawn(process.execPath, [CLI, 'tail', '--app', 'demo', ...client]);
    let out = '';
    tail.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise<void>((resolve) => tail.stderr.once('data', () => resolve()));
    const url = /ingest URL for the Faro SDK:\s+(\S+)/.exec(pharos.banner)?.[1] as string;
    await post(url, {
      exceptions: [
        { type: 'TypeError', value: 'x is undefined', timestamp: new Date().toISOString() },
      ],
    });
    const deadline = Date.now() + 10_000;
    while (!out.includes('TypeError') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    tail.kill();
    expect(out).toMatch(/exception\s+TypeError: x is undefined/);
  });

  it('explains a wrong token and an unreachable Pharos, with exit status 1', async () => {
    const wrong = await runCli([
      'apps',
      'list',
      '--url',
      pharos.internalUrl,
      '--token',
      'pha_wrong',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /^error: invalid, expired or revoked token \[PHAROS_ERR_UNAUTHORIZED\]/,
    );
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const unreachable = await runCli([
      'apps',
      'list',
      '--url',
      `http://127.0.0.1:${closedPort}`,
      '--token',
      'x',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(
      new RegExp(`cannot reach Pharos at http://127\\.0\\.0\\.1:${closedPort} \\(.*ECONNREFUSED`),
    );
  });
});

describe('configuration from the command line', () => {
  it('`config check` accepts a good file and names the bad key of a bad one (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-config-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      'tenants:\n  - id: acme\n    apps:\n      - id: shop\n        keys: [pk_shop_key_0001]\n',
    );
    expect(await runCli(['config', 'check', good])).toMatchObject({
      code: 0,
      stdout: `${good}: ok (1 tenants, 1 apps declared)\n`,
    });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'ingest:\n  maxBodyBytes: plenty\n');
    const result = await runCli(['config', 'check', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `PHAROS_ERR_CONFIG_INVALID: ingest.maxBodyBytes: expected a byte size such as "5MiB" (got "plenty") (in ${bad})\n`,
    );
  });

  it('`start` refuses a bad variable before listening (exit 2)', async () => {
    const result = await runCli(['start'], { env: { PHAROS_INGEST_MAX_JSON_DEPTH: '2' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^PHAROS_ERR_CONFIG_INVALID: ingest\.maxJsonDepth: .*\(from PHAROS_INGEST_MAX_JSON_DEPTH\)/,
    );
  });

  it('reconciles the declarative file, and config-managed apps refuse API key rotation', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pharos-gitops-'));
    const file = join(dataDir, 'pharos.yaml');
    writeFileSync(
      file,
      'tenants:\n  - id: acme\n    apps:\n      - id: shop\n        allowedOrigins: [https://shop.acme.example]\n        keys: [pk_shop_key_0001]\n',
    );
    const pharos = await startCli(['--config', file, '--data-dir', dataDir, '--log-level', 'warn']);
    try {
      expect(pharos.banner).not.toContain('First start: created the demo');
      const client = ['--url', pharos.internalUrl, '--data-dir', dataDir];
      const apps = JSON.parse((await runCli(['apps', 'list', '--json', ...client])).stdout) as {
        id: string;
        source: string;
      }[];
      expect(apps).toEqual([expect.objectContaining({ id: 'shop', source: 'config' })]);
      const rotate = await runCli(['keys', 'rotate', '--app', 'shop', ...client]);
      expect(rotate.code).toBe(1);
      expect(rotate.stderr).toMatch(/managed by the config file.*\[PHAROS_ERR_CONFLICT\]/);
      expect(
        (
          await post(`${pharos.publicUrl}/collect/pk_shop_key_0001`, {
            events: [{ name: 'declared' }],
          })
        ).status,
      ).toBe(202);
    } finally {
      await pharos.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
