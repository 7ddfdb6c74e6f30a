import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { decideSession } from '../../src/admission/sampling.js';

const PACKAGE = new URL('../../packages/faro-remote-config/', import.meta.url).pathname;
const TSC = new URL('../../node_modules/typescript/bin/tsc', import.meta.url).pathname;

describe('@pharos/faro-remote-config build', () => {
  // Built outside the repository, so no dist/ is left for eslint or git to see.
  const outDir = mkdtempSync(join(tmpdir(), 'faro-remote-config-dist-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('compiles with its own tsconfig to ESM with declarations and no runtime imports', async () => {
    await promisify(execFile)(process.execPath, [
      TSC,
      '-p',
      join(PACKAGE, 'tsconfig.build.json'),
      '--outDir',
      outDir,
    ]);
    const files = readdirSync(outDir);
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'xxh3.js']));
    for (const file of files.filter((name) => name.endsWith('.js'))) {
      const code = readFileSync(join(outDir, file), 'utf8');
      // Only relative imports: the Faro SDK is a peer, used for types alone.
      for (const match of code.matchAll(/from '([^']+)'/g)) expect(match[1]).toMatch(/^\.\//);
    }
    const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as {
      dependencies?: object;
      peerDependencies: Record<string, string>;
      type: string;
    };
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies)).toEqual(['@grafana/faro-web-sdk']);
    expect(manifest.type).toBe('module');

    const built = (await import(pathToFileURL(join(outDir, 'index.js')).href)) as {
      keepsSession(id: string, rate: number): boolean;
      DEFAULT_REMOTE_CONFIG: { samplingRate: number };
    };
    expect(built.DEFAULT_REMOTE_CONFIG.samplingRate).toBe(1);
    for (const id of ['69tcByp4Jx', 'k0YttLiEPF', 'zyn0crnCFs', 'v2WCo6Zza4', 'AuGEWeDgpc']) {
      expect(built.keepsSession(id, 0.5)).toBe(decideSession(id, 0.5) === 'keep');
    }
  }, 60_000);
});
