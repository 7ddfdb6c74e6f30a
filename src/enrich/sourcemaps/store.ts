import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const deflateAsync = promisify(zlib.deflate);
const inflateAsync = promisify(zlib.inflate);

/**
 * Below this size zlib runs inline: a thread-pool round trip costs more than compressing a small
 * map (as in decode/body.ts). Larger maps (a 30 MB one takes ~0.5 s) go to the pool.
 */
const INLINE_ZLIB_BYTES = 64 * 1024;

function deflate(content: Buffer): Promise<Buffer> {
  return content.length <= INLINE_ZLIB_BYTES
    ? Promise.resolve(zlib.deflateSync(content))
    : deflateAsync(content);
}

/** A stored map's JSON bytes; `bytes` (its recorded size) bounds the output. */
export function inflateStoredMap(stored: Buffer, bytes: number): Promise<Buffer> {
  // A damaged row cannot inflate without limit.
  const options = { maxOutputLength: Math.max(bytes, 1) };
  return bytes <= INLINE_ZLIB_BYTES
    ? Promise.resolve(zlib.inflateSync(stored, options))
    : inflateAsync(stored, options);
}

/** Which uploaded map: the app, the build (Faro `meta.app.bundleId`) and the minified file's name. */
export interface SourceMapKey {
  readonly appId: string;
  readonly bundleId: string;
  /** Basename of the minified file the map describes (`app.min.js`), as frames name it. */
  readonly file: string;
}

/** What the store knows about an uploaded map, without its content. */
export interface SourceMapInfo extends SourceMapKey {
  /** Size of the map as uploaded (uncompressed JSON). */
  readonly bytes: number;
  /** Size as stored (zlib). */
  readonly storedBytes: number;
  /** SHA-256 of the map as uploaded, hex. Two uploads of the same map share one parsed copy in memory. */
  readonly sha256: string;
  /** Milliseconds since the epoch. */
  readonly uploadedAt: number;
  /** Name of the token that uploaded it. */
  readonly uploadedBy: string;
}

/** One map to store: its key and its JSON bytes exactly as uploaded. */
export interface NewSourceMap extends SourceMapKey {
  readonly content: Buffer;
}

/**
 * Uploaded source maps, in the registry database so every replica sees the same maps.
 * Asynchronous so that PostgreSQL fits behind it later; the enrich stage never calls it per frame
 * (it keeps what it learnt for a short while, see `SourceMapResolver`).
 */
export interface SourceMapStore {
  /** Stores maps (replacing any with the same key) in one transaction: a tarball lands whole or not at all. */
  put(maps: readonly NewSourceMap[], uploadedBy: string): Promise<SourceMapInfo[]>;
  info(key: SourceMapKey): Promise<SourceMapInfo | undefined>;
  /** The map's JSON bytes as uploaded; undefined when it is gone. */
  read(key: SourceMapKey): Promise<Buffer | undefined>;
  /** Maps of an app, newest first; only one bundle's when `bundleId` is given. */
  list(appId: string, bundleId?: string): Promise<SourceMapInfo[]>;
  /** Deletes a bundle's maps, or one of them; returns how many were deleted. */
  delete(appId: string, bundleId: string, file?: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Bundle ids as the Faro tools make them (`1795573532342c4542cc2fb`, `1795573532342-c4542`) and
 * as people type them (a release name, a git hash): a URL path segment without surprises.
 */
export const BUNDLE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
const BUNDLE_ID = new RegExp(BUNDLE_ID_PATTERN);

export function isBundleId(value: string): boolean {
  return BUNDLE_ID.test(value);
}

/** A map ready to store: compressed (zlib) and hashed, as both stores keep it. */
export interface PreparedSourceMap {
  readonly map: NewSourceMap;
  readonly compressed: Buffer;
  readonly sha256: string;
}

/** Compresses and hashes maps off the main thread (zlib's pool), before any write begins. */
export function prepareSourceMaps(maps: readonly NewSourceMap[]): Promise<PreparedSourceMap[]> {
  return Promise.all(
    maps.map(async (map) => ({
      map,
      compressed: await deflate(map.content),
      sha256: createHash('sha256').update(map.content).digest('hex'),
    })),
  );
}

/**
 * The stored columns of each map, in table order: app_id, bundle_id, file, bytes, stored_bytes,
 * sha256, uploaded_at, uploaded_by, content.
 */
export function storedRows(
  prepared: readonly PreparedSourceMap[],
  uploadedAt: number,
  uploadedBy: string,
): (string | number | Buffer)[][] {
  return prepared.map(({ map, compressed, sha256 }) => [
    map.appId,
    map.bundleId,
    map.file,
    map.content.length,
    compressed.length,
    sha256,
    uploadedAt,
    uploadedBy,
    compressed,
  ]);
}

/** What `put` answers for maps it stored. */
export function storedInfo(
  prepared: readonly PreparedSourceMap[],
  uploadedAt: number,
  uploadedBy: string,
): SourceMapInfo[] {
  return prepared.map(({ map, compressed, sha256 }) => ({
    appId: map.appId,
    bundleId: map.bundleId,
    file: map.file,
    bytes: map.content.length,
    storedBytes: compressed.length,
    sha256,
    uploadedAt,
    uploadedBy,
  }));
}
