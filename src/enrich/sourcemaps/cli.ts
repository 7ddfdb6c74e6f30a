import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { create as createTar } from 'tar';
import { ApiError, createApiClient, type ClientOptions } from '../../cli/client.js';
import { withClientOptions } from '../../cli/commands/registry.js';
import { formatBytes } from '../../lib/units.js';
import { isoTime, table } from '../../cli/format.js';
import type { SourceMapInfo } from './store.js';
import { SOURCEMAP_DEFAULTS } from './defaults.js';

type Options = ClientOptions & { json?: boolean; app: string; bundle?: string };

const print = (json: boolean | undefined, value: unknown, text: () => string) =>
  // A CLI command's output (this file lives next to the code it drives, not under src/cli).
  // eslint-disable-next-line no-console
  console.log(json ? JSON.stringify(value, null, 2) : text());

const appPath = (app: string) => `/api/v1/apps/${encodeURIComponent(app)}/sourcemaps`;

/**
 * `pharos sourcemaps list|delete|upload`. Register in src/cli/main.ts next to the others:
 * `registerSourcemapCommands(program);`. `upload` sends what faro-cli `-g` sends (a tar.gz of the
 * maps, one request per 30 MiB), so it takes maps without a `file` property too (named by their
 * file name minus `.map`).
 */
export function registerSourcemapCommands(program: Command): void {
  const sourcemaps = program
    .command('sourcemaps')
    .description("upload, list and delete an app's source maps");

  withClientOptions(sourcemaps.command('list').description("list an app's source maps"))
    .requiredOption('--app <id>', 'app')
    .option('--bundle <id>', 'only this bundle (meta.app.bundleId)')
    .action(async (options: Options) => {
      const query = options.bundle ? `?bundle=${encodeURIComponent(options.bundle)}` : '';
      const { sourcemaps: rows } = await createApiClient(options).get<{
        sourcemaps: SourceMapInfo[];
      }>(`${appPath(options.app)}${query}`);
      print(options.json, rows, () =>
        table(
          ['bundle', 'file', 'size', 'stored', 'uploaded', 'by', 'sha256'],
          rows.map((row) => [
            row.bundleId,
            row.file,
            String(row.bytes),
            String(row.storedBytes),
            isoTime(row.uploadedAt),
            row.uploadedBy,
            row.sha256.slice(0, 12),
          ]),
        ),
      );
    });

  withClientOptions(
    sourcemaps.command('delete').description("delete a bundle's source maps, or one of them"),
  )
    .requiredOption('--app <id>', 'app')
    .requiredOption('--bundle <id>', 'bundle (meta.app.bundleId)')
    .option('--file <name>', 'only the map of this minified file (app.min.js)')
    .action(async (options: Options & { bundle: string; file?: string }) => {
      const file = options.file === undefined ? '' : `/${encodeURIComponent(options.file)}`;
      const answer = await send<{ deleted: number }>(
        options,
        'DELETE',
        `${appPath(options.app)}/${encodeURIComponent(options.bundle)}${file}`,
      );
      print(options.json, answer, () => `deleted ${answer.deleted} source map(s)`);
    });

  withClientOptions(
    sourcemaps
      .command('upload')
      .description('upload .map files (or the .map files in directories) for a bundle')
      .argument('<paths...>', '.map files or directories holding them'),
  )
    .requiredOption('--app <id>', 'app')
    .requiredOption('--bundle <id>', 'bundle id the build injected (meta.app.bundleId)')
    .option('--recursive', 'look for .map files in subdirectories too')
    .action(async (paths: string[], options: Options & { bundle: string; recursive?: boolean }) => {
      const files = paths.flatMap((path) => mapFiles(resolve(path), options.recursive === true));
      if (files.length === 0) throw new ApiError('no .map file found', 'PHAROS_CLI_NO_MAPS');
      let maps = 0;
      let bytes = 0;
      for (const chunk of chunksOf(files, SOURCEMAP_DEFAULTS.maxMapBytes)) {
        const answer = await send<{ maps: number; bytes: number }>(
          options,
          'POST',
          `/app/${encodeURIComponent(options.app)}/sourcemaps/${encodeURIComponent(options.bundle)}`,
          await tarball(chunk.map((file) => file.path)),
          { 'content-type': 'application/gzip' },
        );
        maps += answer.maps;
        bytes += answer.bytes;
      }
      print(
        options.json,
        { maps, bytes },
        () => `uploaded ${maps} source map(s), ${formatBytes(bytes)}`,
      );
    });
}

interface MapFile {
  path: string;
  size: number;
}

function mapFiles(path: string, recursive: boolean): MapFile[] {
  const info = statSync(path);
  if (info.isFile()) return [{ path, size: info.size }];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
    const child = join(path, entry.name);
    if (entry.isDirectory()) return recursive ? mapFiles(child, true) : [];
    return entry.isFile() && entry.name.endsWith('.map')
      ? [{ path: child, size: statSync(child).size }]
      : [];
  });
}

/** Groups files so that each request stays under the server's per-tarball cap. */
function chunksOf(files: MapFile[], maxBytes: number): MapFile[][] {
  const chunks: MapFile[][] = [];
  let current: MapFile[] = [];
  let size = 0;
  for (const file of files) {
    if (file.size > maxBytes)
      throw new ApiError(`${file.path} exceeds ${formatBytes(maxBytes)}`, 'PHAROS_CLI_TOO_LARGE');
    if (size + file.size > maxBytes && current.length > 0) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += file.size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

async function tarball(paths: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createTar({ gzip: true, portable: true }, paths) as unknown as Readable)
    chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A call with a body or a method the shared API client does not offer (DELETE, raw uploads);
 * same base URL, token and error reporting as `createApiClient`.
 */
async function send<T>(
  options: ClientOptions,
  method: 'POST' | 'DELETE',
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<T> {
  const { baseUrl } = createApiClient(options);
  const token = options.token ?? process.env.PHAROS_TOKEN ?? tokenFile(options.dataDir);
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(body ? { body } : {}),
    });
  } catch (error) {
    throw new ApiError(
      `cannot reach Pharos at ${baseUrl} (${(error as Error).message})`,
      'PHAROS_CLI_UNREACHABLE',
    );
  }
  const text = await response.text();
  let parsed: { code?: string; message?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not JSON: reported as text below.
  }
  if (!response.ok)
    throw new ApiError(parsed.message ?? text, parsed.code ?? `HTTP_${response.status}`);
  return parsed as T;
}

function tokenFile(dataDir = process.env.PHAROS_DATA_DIR ?? './pharos-data'): string | undefined {
  const file = join(dataDir, 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
