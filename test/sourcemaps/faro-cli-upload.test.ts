import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Registry as PromRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSourcemapSymbolication } from '../../src/enrich/sourcemaps/index.js';
import { fixtureIndex } from '../helpers/fixtures.js';
import {
  expectFramesMatchTraceMapping,
  enrichFixtures,
  framesOf,
  minifiedFrameCount,
} from './fixture-frames.js';
import {
  FIXTURE_BUNDLE,
  FIXTURE_MAP_FILE,
  FIXTURE_MAP_SHA256,
  startSourcemapHarness,
  type SourcemapHarness,
} from './harness.js';

const FARO_CLI = fileURLToPath(new URL('../../node_modules/.bin/faro-cli', import.meta.url));
const execFileAsync = promisify(execFile);

interface CliRun {
  label: string;
  argv: string[];
}
const cliRuns = (fixtureIndex as unknown as { cliRuns: CliRun[] }).cliRuns;

/**
 * The captured arguments, with this test's endpoint, app, token and tenant in place of the
 * capture's (`-a 42 -k glc_test_api_key -s 123456`) and a fresh directory holding the map.
 */
function capturedArgs(label: string, replace: Record<string, string>): string[] {
  const run = cliRuns.find((candidate) => candidate.label === label);
  if (!run) throw new Error(`no captured faro-cli run ${label}`);
  return run.argv.map((arg, index) => {
    const option = run.argv[index - 1];
    return option !== undefined && option in replace ? (replace[option] as string) : arg;
  });
}

async function faroCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(FARO_CLI, args, { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('uploads by the real faro-cli 0.7.7, then symbolication of the captured exceptions', () => {
  let harness: SourcemapHarness;
  let mapDir: string;

  beforeAll(async () => {
    harness = await startSourcemapHarness();
  });
  afterAll(async () => {
    await harness.close();
  });

  const modes = [
    // The captured endpoint shape (…/faro/api/v1) and the bare listener URL both work.
    { label: 'faro-cli/upload-json', endpoint: '/faro/api/v1', type: 'application/json' },
    { label: 'faro-cli/upload-gzip-payload', endpoint: '', type: 'application/json' },
    {
      label: 'faro-cli/upload-gzip-contents-tarball',
      endpoint: '/faro/api/v1',
      type: 'application/gzip',
    },
  ];

  for (const mode of modes) {
    it(`${mode.label} (endpoint ${mode.endpoint || 'the listener URL'}) stores the map and symbolicates every bundle frame`, async () => {
      await harness.store.delete('capture-app', FIXTURE_BUNDLE);
      mapDir = mkdtempSync(join(tmpdir(), 'faro-cli-maps-'));
      copyFileSync(FIXTURE_MAP_FILE, join(mapDir, 'app.min.js.map'));
      const seenBefore = harness.seen.length;
      try {
        const result = await faroCli(
          capturedArgs(mode.label, {
            '-e': `${harness.url}${mode.endpoint}`,
            '-a': 'capture-app',
            '-k': harness.tokens.captureApp,
            '-s': 'capture',
            '-o': mapDir,
          }),
        );
        expect(result.stderr).toBe('');
        expect(result.stdout).toContain('Sourcemaps uploaded successfully');
        expect(result.code).toBe(0);
      } finally {
        rmSync(mapDir, { recursive: true, force: true });
      }

      const uploads = harness.seen.slice(seenBefore);
      expect(uploads).toHaveLength(1);
      const upload = uploads[0] as (typeof uploads)[number];
      expect(upload.url).toBe(`${mode.endpoint}/app/capture-app/sourcemaps/${FIXTURE_BUNDLE}`);
      expect(upload.headers['content-type']).toBe(mode.type);
      expect(upload.headers.authorization).toBe(`Bearer capture:${harness.tokens.captureApp}`);
      if (mode.label === 'faro-cli/upload-json') {
        // 2 MB: curl asks first, and Node answers 100 Continue before the route runs.
        expect(upload.headers.expect).toBe('100-continue');
      }
      if (mode.label === 'faro-cli/upload-gzip-payload')
        expect(upload.headers['content-encoding']).toBe('gzip');

      const stored = await harness.store.list('capture-app', FIXTURE_BUNDLE);
      expect(stored).toMatchObject([
        {
          appId: 'capture-app',
          bundleId: FIXTURE_BUNDLE,
          file: 'app.min.js',
          bytes: 2039886,
          sha256: FIXTURE_MAP_SHA256,
          uploadedBy: 'sourcemaps:capture-app',
        },
      ]);

      // A fresh symbolication (empty cache) reads what this mode stored.
      const { enricher } = createSourcemapSymbolication({
        store: harness.store,
        metricsRegistry: new PromRegistry(),
      });
      const batches = await enrichFixtures(enricher);
      expect(expectFramesMatchTraceMapping(batches)).toBe(minifiedFrameCount());
    });
  }

  it('resolves the pushError stack to page/app.js, with function names from the call sites', async () => {
    const [, , pushError] = await enrichFixtures(harness.sourcemaps.enricher);
    const frames = framesOf(pushError as never);
    expect(
      frames.map(({ filename, function: name, lineno, colno }) => [filename, name, lineno, colno]),
    ).toEqual([
      // throw inside computeLineTotal: its name comes from the caller's call `computeLineTotal(…)`.
      ['../../page/app.js', 'computeLineTotal', 64, 11],
      // The reduce callback is called by native code (no position): its minified name stays.
      ['../../page/app.js', '?', 70, 42],
      ['<anonymous>', 'Array.reduce', undefined, undefined],
      ['../../page/app.js', 'computeCartTotal', 70, 16],
      // Called from the page's eval (no map): minified name kept.
      ['../../page/app.js', 'Object.cK [as pushHandledError]', 75, 5],
      ['http://127.0.0.1:5600/s/main', 'eval', 370, 30],
      ['<anonymous>', 'UtilityScript.evaluate', 372, 16],
      ['<anonymous>', 'UtilityScript.<anonymous>', 1, 44],
    ]);
    expect(frames[0]).toMatchObject({
      minified: {
        filename: 'http://127.0.0.1:5600/dist/app.min.js',
        function: 'aK',
        lineno: 32,
        colno: 1102,
      },
    });
  });

  it('a failed faro-cli upload (wrong token) exits 1: error answers contain the word "error"', async () => {
    mapDir = mkdtempSync(join(tmpdir(), 'faro-cli-maps-'));
    copyFileSync(FIXTURE_MAP_FILE, join(mapDir, 'app.min.js.map'));
    try {
      const result = await faroCli([
        'upload',
        ...['-e', harness.url, '-a', 'capture-app', '-k', 'pha_wrong', '-s', 'capture'],
        ...['-b', FIXTURE_BUNDLE, '-o', mapDir, '-m'],
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('PHAROS_ERR_UNAUTHORIZED');
    } finally {
      rmSync(mapDir, { recursive: true, force: true });
    }
  });
});
