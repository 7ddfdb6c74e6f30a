import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import {
  FIXTURE_APP,
  apiGet,
  fixtureTenantConfig,
  startTestPharos,
  type TestPharos,
} from '../helpers/pharos.js';
import { FIXTURE_BUNDLE, FIXTURE_MAP_FILE, FIXTURE_MAP_SHA256 } from './harness.js';

const FARO_CLI = fileURLToPath(new URL('../../node_modules/.bin/faro-cli', import.meta.url));
const assembled = 'sourcemaps' in ConfigSchema.properties;

/**
 * The whole of Pharos as `pharos start` assembles it: config block, store on registry.db,
 * routes on the internal listener, the enricher in the ingest pipeline, metrics. Runs once the
 * assembly diff (config schema, src/admin/server.ts, src/app/pharos.ts, src/pipeline/collect.ts)
 * is applied; until then the schema has no `sourcemaps` block and this suite is skipped.
 */
describe.skipIf(!assembled)('source maps in the assembled Pharos', () => {
  let pharos: TestPharos;
  let token: string;

  beforeAll(async () => {
    pharos = await startTestPharos({
      ...fixtureTenantConfig(),
      demo: { enabled: false },
      sourcemaps: { download: { origins: { capture: ['https://cdn.capture.example'] } } },
    });
    token = (await pharos.registry.createToken('ci', ['sourcemaps:capture-app'])).token;
  });
  afterAll(() => pharos.stop());

  it('faro-cli uploads to the internal listener; the map is in registry.db and listed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faro-cli-assembly-'));
    copyFileSync(FIXTURE_MAP_FILE, join(dir, 'app.min.js.map'));
    try {
      const { stdout } = await promisify(execFile)(FARO_CLI, [
        'upload',
        ...['-e', `${pharos.internalUrl}/faro/api/v1`, '-a', 'capture-app', '-k', token],
        ...['-s', 'capture', '-b', FIXTURE_BUNDLE, '-o', dir, '-m', '-g'],
      ]);
      expect(stdout).toContain('Sourcemaps uploaded successfully');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const listed = await apiGet<{ sourcemaps: unknown[] }>(
      pharos,
      '/api/v1/apps/capture-app/sourcemaps',
    );
    expect(listed.sourcemaps).toMatchObject([
      { bundleId: FIXTURE_BUNDLE, file: 'app.min.js', sha256: FIXTURE_MAP_SHA256 },
    ]);
    const metrics = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
    expect(metrics).toContain('pharos_sourcemap_frames_total{result="resolved"} 0');
    expect(metrics).toContain('pharos_sourcemap_cache_bytes 0');
  });

  it('an exception the browser sends is stored symbolicated (enrich runs before fan-out)', async () => {
    const response = await fetch(`${pharos.publicUrl}/collect/${FIXTURE_APP.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: FIXTURE_APP.origin },
      body: readFileSync(new URL('05-main-pushError--exc_Error.json', FIXTURES_DIR)),
    });
    expect(response.status).toBe(202);
    await pharos.flush();
    const { items } = await apiGet<{
      items: { item: { stacktrace: { frames: Record<string, unknown>[] } } }[];
    }>(pharos, '/api/v1/apps/capture-app/exceptions');
    expect(items[0]?.item.stacktrace.frames[0]).toEqual({
      filename: '../../page/app.js',
      function: 'computeLineTotal',
      lineno: 64,
      colno: 11,
      minified: {
        filename: 'http://127.0.0.1:5600/dist/app.min.js',
        function: 'aK',
        lineno: 32,
        colno: 1102,
      },
    });
    const metrics = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
    expect(metrics).toContain('pharos_sourcemap_frames_total{result="resolved"} 4');
  });
});
