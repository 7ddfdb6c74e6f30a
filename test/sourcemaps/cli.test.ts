import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../src/cli/client.js';
import { registerSourcemapCommands } from '../../src/enrich/sourcemaps/cli.js';
import { FIXTURE_MAP_FILE, startSourcemapHarness, type SourcemapHarness } from './harness.js';

describe('pharos sourcemaps list|upload|delete', () => {
  let harness: SourcemapHarness;
  let dir: string;

  beforeAll(async () => {
    harness = await startSourcemapHarness();
    dir = mkdtempSync(join(tmpdir(), 'pharos-cli-maps-'));
    mkdirSync(join(dir, 'nested'));
    copyFileSync(FIXTURE_MAP_FILE, join(dir, 'app.min.js.map'));
    // No `file` property: named by its file name.
    writeFileSync(
      join(dir, 'nested', 'chunk.js.map'),
      JSON.stringify({ version: 3, sources: ['c.ts'], names: [], mappings: 'AAAA' }),
    );
    writeFileSync(join(dir, 'app.min.js'), 'not a map');
  });
  afterAll(async () => {
    await harness.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function pharos(...args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    registerSourcemapCommands(program);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
    try {
      await program.parseAsync(
        ['node', 'pharos', ...args, '--url', harness.url, '--token', harness.tokens.captureApp],
        { from: 'node' },
      );
    } finally {
      log.mockRestore();
    }
    return lines.join('\n');
  }

  it('uploads a directory (recursively) as one tarball, lists, deletes', async () => {
    expect(
      await pharos(
        'sourcemaps',
        'upload',
        dir,
        '--app',
        'capture-app',
        '--bundle',
        'cli-1',
        '--recursive',
      ),
    ).toMatch(/^uploaded 2 source map\(s\), /);
    const listed = await pharos('sourcemaps', 'list', '--app', 'capture-app', '--bundle', 'cli-1');
    expect(listed.split('\n')[0]).toMatch(
      /^BUNDLE\s+FILE\s+SIZE\s+STORED\s+UPLOADED\s+BY\s+SHA256$/,
    );
    expect(listed).toMatch(
      /cli-1\s+app\.min\.js\s+2039886\s+\d+\s+\S+\s+sourcemaps:capture-app\s+6b6d0ca1d240/,
    );
    expect(listed).toMatch(/cli-1\s+chunk\.js\s+/);
    expect(
      await pharos(
        'sourcemaps',
        'delete',
        '--app',
        'capture-app',
        '--bundle',
        'cli-1',
        '--file',
        'chunk.js',
      ),
    ).toBe('deleted 1 source map(s)');
    const json = JSON.parse(
      await pharos('sourcemaps', 'list', '--app', 'capture-app', '--json'),
    ) as { file: string }[];
    expect(json.map((row) => row.file)).toEqual(['app.min.js']);
    expect(await pharos('sourcemaps', 'delete', '--app', 'capture-app', '--bundle', 'cli-1')).toBe(
      'deleted 1 source map(s)',
    );
  });

  it('reports API errors with their code', async () => {
    await expect(
      pharos('sourcemaps', 'delete', '--app', 'capture-app', '--bundle', 'nothing'),
    ).rejects.toMatchObject({ code: 'PHAROS_ERR_NOT_FOUND' });
    await expect(pharos('sourcemaps', 'list', '--app', 'other-app')).rejects.toBeInstanceOf(
      ApiError,
    );
  });
});
