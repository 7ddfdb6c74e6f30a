import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { orphanWorkerDirs, workerConfig, workerSpoolDir } from '../../src/app/cluster/index.js';
import { validateConfig } from '../../src/config/index.js';
import { runLoad } from '../../src/loadgen/index.js';
import { FIXTURE_APP, fixtureTenantConfig } from '../helpers/pharos.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');

/**
 * `pharos start --workers 2` from the build: two workers behind the shared ports, one registry,
 * one spool directory per worker, /metrics summed over the workers, a clean drain on SIGTERM.
 */
describe('pharos start --workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-workers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'serves from every worker and answers /metrics for all of them',
    { timeout: 60_000 },
    async () => {
      expect(existsSync(CLI), 'run npm run build first').toBe(true);
      const configFile = join(dir, 'pharos.yaml');
      writeFileSync(
        configFile,
        JSON.stringify({
          demo: { enabled: false },
          log: { level: 'warn' },
          // Two workers starting beside other test files on two cores read as lagging event
          // loops; shedding's 503s are not what this test is about (it has its own tests).
          shedding: { maxEventLoopDelay: 0 },
          ...fixtureTenantConfig(),
        }),
      );
      const dataDir = join(dir, 'data');
      const child = spawn(
        process.execPath,
        [
          CLI,
          'start',
          '--config',
          configFile,
          '--data-dir',
          dataDir,
          '--public',
          '127.0.0.1:0',
          '--internal',
          '127.0.0.1:0',
          '--workers',
          '2',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: withoutPharosVariables() },
      );
      try {
        const output = captureOutput(child);
        // Port 0 in a cluster: the primary binds once and every worker gets the same port.
        await waitFor(() => output().includes('2 workers ready'), 30_000, output);
        const publicUrl = /public listener\s+(\S+)/.exec(output())?.[1];
        const internalUrl = /internal listener\s+(\S+)/.exec(output())?.[1];
        expect(publicUrl, output()).toBeDefined();
        expect(internalUrl, output()).toBeDefined();
        // Only worker 1 prints the banner.
        expect(output().match(/is ready \(2 workers\)/g)).toHaveLength(1);

        // Eight connections, accepted round-robin by the two workers.
        const report = await runLoad({
          url: publicUrl as string,
          apps: [{ key: FIXTURE_APP.key, origin: FIXTURE_APP.origin }],
          concurrency: 8,
          maxRequests: 200,
        });
        expect(report.counts.byStatus).toEqual({ '202': 200 });

        // Each scrape lands on one worker; the count must be every worker's, whichever it is.
        for (let scrape = 0; scrape < 4; scrape++) {
          const text = await (await fetch(`${internalUrl}/metrics`)).text();
          expect(
            sumOf(text, /^pharos_http_requests_total\{[^}]*listener="public"[^}]*status="202"/),
          ).toBe(200);
          expect(sumOf(text, /^pharos_registry_apps\b/)).toBe(1);
          expect(sumOf(text, /^pharos_build_info\{/)).toBe(1);
        }

        // Worker 2 has its own spool directory and shares worker 1's registry.
        expect(lstatSync(join(dataDir, 'worker-2', 'registry.db')).isSymbolicLink()).toBe(true);
        expect(existsSync(join(dataDir, 'worker-2', 'admin-token'))).toBe(true);

        child.kill('SIGTERM');
        const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
        expect(code, output()).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  );

  it('gives worker k > 1 a data directory of its own, linked to the shared files', () => {
    const shared = join(dir, 'unit');
    mkdirSync(shared, { recursive: true });
    writeFileSync(join(shared, 'registry.db'), '');
    writeFileSync(join(shared, 'admin-token'), 'token\n');
    const config = validateConfig({ dataDir: shared, limits: { replicas: 3 } });
    const first = workerConfig(config, 1, 2);
    expect(first.dataDir).toBe(config.dataDir);
    const second = workerConfig(config, 2, 2);
    expect(second.dataDir).toBe(join(shared, 'worker-2'));
    expect(lstatSync(join(second.dataDir, 'registry.db')).isSymbolicLink()).toBe(true);
    // No store file yet: no dangling link that would put the store where nobody reads it.
    expect(existsSync(join(second.dataDir, 'telemetry.db'))).toBe(false);
    // Starting the same worker again keeps its links.
    expect(workerConfig(config, 2, 2).dataDir).toBe(second.dataDir);
    // Every worker counts limits alone when they are not in Redis: 3 replicas × 2 workers.
    expect(first.limits.replicas).toBe(6);
    expect(second.limits.replicas).toBe(6);
    expect(workerSpoolDir(shared, 1)).toBe(join(shared, 'spool'));
    expect(workerSpoolDir(shared, 3)).toBe(join(shared, 'worker-3', 'spool'));

    mkdirSync(workerSpoolDir(shared, 3), { recursive: true });
    expect(orphanWorkerDirs(shared, 2)).toEqual([3]);
    expect(orphanWorkerDirs(shared, 3)).toEqual([]);
  });
});

function sumOf(text: string, line: RegExp): number {
  let sum = 0;
  for (const row of text.split('\n')) if (line.test(row)) sum += Number(row.split(' ').pop());
  return sum;
}

function captureOutput(child: ChildProcess): () => string {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return () => output;
}

async function waitFor(check: () => boolean, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out; output:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function withoutPharosVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('PHAROS_')),
  );
}
