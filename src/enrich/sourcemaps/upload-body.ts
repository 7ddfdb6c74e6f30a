import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { contentEncodingOf, readBody } from '../../decode/body.js';
import { PharosError, type ErrorName } from '../../errors/index.js';
import { formatBytes } from '../../lib/units.js';
import {
  InvalidSourceMapError,
  basenameOf,
  minifiedFileOf,
  parseSourceMapJson,
} from './source-map-text.js';

const gunzip = promisify(zlib.gunzip);

export interface UploadLimits {
  /** Cap on one map, uncompressed (faro-cli's own limit is 30 MiB). */
  maxMapBytes: number;
  /** Cap on the maps of one tarball together, uncompressed. */
  maxTarballBytes: number;
  /** The whole body must arrive within this. */
  bodyTimeoutMs: number;
}

/** A checked map from an upload, under the name of the minified file it describes. */
export interface UploadedMap {
  readonly file: string;
  readonly content: Buffer;
}

/**
 * Tar headers and padding on top of the maps themselves: 512-byte headers and up to 511 bytes of
 * padding per entry, 1 KiB of end blocks. The inflated archive may exceed the maps' total by this
 * much (room for ~2,000 entries), and not more: that bounds what a tar bomb costs.
 */
const TAR_OVERHEAD_BYTES = 2 * 1024 * 1024;

const TARBALL_TYPES = new Set([
  'application/gzip',
  'application/x-gzip',
  'application/tar+gzip',
  'application/x-tar',
]);
const JSON_TYPES = new Set(['application/json', 'text/plain', 'application/octet-stream', '']);

/** The error for "not a source map": one place to change if it gets a code of its own. */
export const INVALID_MAP_ERROR: ErrorName = 'SOURCEMAP_INVALID';

function tooLarge(what: string, limit: number): PharosError {
  return new PharosError('BODY_TOO_LARGE', `${what} exceeds the ${formatBytes(limit)} limit`);
}

function invalidMap(message: string): PharosError {
  return new PharosError(INVALID_MAP_ERROR, message);
}

/**
 * Reads what faro-cli and the Faro bundler plugins send to `POST …/sourcemaps/:bundleId`:
 * a JSON map (optionally `Content-Encoding: gzip`), or a tar.gz of maps (`application/gzip`).
 * Every cap is on uncompressed bytes and is enforced while reading and inflating, so an
 * oversized or bomb upload costs at most the cap. Throws PharosErrors (413, 415, 400, 408).
 */
export async function readUploadedMaps(
  request: IncomingMessage,
  limits: UploadLimits,
): Promise<UploadedMap[]> {
  const mediaType = mediaTypeOf(request.headers['content-type']);
  const isTarball = TARBALL_TYPES.has(mediaType);
  if (!isTarball && !JSON_TYPES.has(mediaType)) {
    throw new PharosError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${JSON.stringify(mediaType)} is not supported; send a source map as application/json or a tar.gz of maps as application/gzip`,
    );
  }
  const encoding = contentEncodingOf(request.headers['content-encoding']);
  const limit = isTarball ? limits.maxTarballBytes : limits.maxMapBytes;
  const what = isTarball ? 'the tarball' : 'the source map';
  // A plain (uncompressed) tar is its maps plus headers: allow for those on the wire too.
  const maxBytes = isTarball ? limit + TAR_OVERHEAD_BYTES : limit;
  const declared = Number(request.headers['content-length']);
  if (declared > maxBytes) throw tooLarge(`${what} (Content-Length ${declared})`, limit);

  let body: Buffer;
  try {
    ({ body } = await readBody(request, encoding, { maxBytes, timeoutMs: limits.bodyTimeoutMs }));
  } catch (error) {
    if (error instanceof PharosError && error.statusCode === 413) throw tooLarge(what, limit);
    throw error;
  }
  if (body.length === 0) throw new PharosError('BODY_EMPTY', 'the upload has no body');
  // The content decides, not only the declared type: a JSON map never starts with gzip's magic
  // bytes, and some clients label a tarball application/octet-stream.
  if (!isTarball && !looksLikeArchive(body)) return [checkedMap(body, undefined)];
  return mapsFromTarball(body, limits);
}

function looksLikeArchive(body: Buffer): boolean {
  const isGzip = body[0] === 0x1f && body[1] === 0x8b;
  const isTar = body.length >= 512 && body.toString('latin1', 257, 262) === 'ustar';
  return isGzip || isTar;
}

function mediaTypeOf(header: string | undefined): string {
  if (header === undefined) return '';
  const semicolon = header.indexOf(';');
  return (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
}

function checkedMap(content: Buffer, entryName: string | undefined): UploadedMap {
  const where = entryName === undefined ? '' : ` (${entryName})`;
  let file: string | undefined;
  try {
    file = minifiedFileOf(parseSourceMapJson(content), entryName);
  } catch (error) {
    if (error instanceof InvalidSourceMapError) throw invalidMap(`${error.message}${where}`);
    throw error;
  }
  if (file === undefined) {
    throw invalidMap(
      `the source map has no "file" property${where}: Pharos finds a map by the minified file it describes (the Faro bundler plugins set it)`,
    );
  }
  if (file.length > 255 || [...file].some((char) => char.charCodeAt(0) < 0x20))
    throw invalidMap(`the map's file name ${JSON.stringify(file.slice(0, 80))} is not usable`);
  return { file, content };
}

async function mapsFromTarball(body: Buffer, limits: UploadLimits): Promise<UploadedMap[]> {
  const isGzip = body[0] === 0x1f && body[1] === 0x8b;
  const ceiling = limits.maxTarballBytes + TAR_OVERHEAD_BYTES;
  let tar = body;
  if (isGzip) {
    try {
      tar = await gunzip(body, { maxOutputLength: ceiling });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        throw tooLarge('the tarball, uncompressed,', limits.maxTarballBytes);
      throw new PharosError(
        'BODY_DECOMPRESSION_FAILED',
        `the tarball is not valid gzip: ${(error as Error).message}`,
      );
    }
  }
  const entries = await readTarEntries(tar, limits);
  if (entries.length === 0) throw invalidMap('the tarball holds no .map file');
  // Last one wins when two entries describe the same file, as two uploads in a row would.
  const byFile = new Map<string, UploadedMap>();
  for (const entry of entries) {
    const map = checkedMap(entry.content, entry.path);
    byFile.set(map.file, map);
  }
  return [...byFile.values()];
}

/** The `.map` regular files of a tar archive (entry names are paths; only the basename counts). */
function readTarEntries(
  tar: Buffer,
  limits: UploadLimits,
): Promise<{ path: string; content: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const entries: { path: string; content: Buffer }[] = [];
    let total = 0;
    let failure: PharosError | undefined;
    const fail = (error: PharosError) => {
      failure ??= error;
    };

    const onEntry = (entry: ReadEntry) => {
      const name = basenameOf(entry.path);
      const isFile = entry.type === 'File' || entry.type === 'OldFile';
      if (failure || !isFile || !name.endsWith('.map')) {
        entry.resume();
        return;
      }
      total += entry.size;
      if (entry.size > limits.maxMapBytes)
        fail(tooLarge(`the source map ${entry.path}`, limits.maxMapBytes));
      else if (total > limits.maxTarballBytes)
        fail(tooLarge('the maps in the tarball, together,', limits.maxTarballBytes));
      if (failure) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => entries.push({ path: entry.path, content: Buffer.concat(chunks) }));
    };

    const parser = new Parser({ strict: true, onReadEntry: onEntry });
    parser.on('error', (error: Error) =>
      fail(invalidMap(`the upload is not a valid tar archive: ${error.message}`)),
    );
    parser.on('end', () => (failure ? reject(failure) : resolve(entries)));
    parser.end(tar);
  });
}
