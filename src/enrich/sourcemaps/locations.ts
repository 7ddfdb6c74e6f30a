import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { MapTooLargeError } from './map-cache.js';
import { withoutQuery } from './frame-url.js';

/**
 * Where maps may already be, as Alloy's `location` blocks: a directory (a volume the build writes
 * to) or an http(s) base URL (a bucket). `{release}` in `path` is replaced with
 * `meta.app.release`. The frame's filename, minus `minifiedPathPrefix` and its query, plus
 * `.map`, is looked up under `path`: with prefix `https://shop.example/static/`, the frame
 * `https://shop.example/static/js/app.js?v=2` reads `<path>/js/app.js.map`.
 */
export interface SourceMapLocation {
  path: string;
  /** Only frames whose filename starts with this are looked up here. Default "" (every frame). */
  minifiedPathPrefix?: string;
  /** Only for this tenant's frames. Default: every tenant. */
  tenant?: string;
  /** Only for this app's frames. Default: every app. */
  app?: string;
}

export type LocationCandidate =
  { kind: 'file'; root: string; file: string } | { kind: 'url'; url: string };

/** The frame's filename tries to leave the location (`..`): the lookup stops there. */
export class PathRefusedError extends Error {
  override readonly name = 'PathRefusedError';
}

export interface LocationContext {
  tenantId: string;
  appId: string;
  release?: string | undefined;
}

/**
 * Where to look for a frame's map, in configuration order. Throws PathRefusedError when the
 * filename has a `..` segment (in any encoding): browsers normalise URLs before they report them,
 * so only a forged payload has one.
 */
export function locationCandidates(
  locations: readonly SourceMapLocation[],
  context: LocationContext,
  filename: string,
): LocationCandidate[] {
  const candidates: LocationCandidate[] = [];
  const file = withoutQuery(filename);
  if (file === '' || file.endsWith('/')) return candidates;
  for (const location of locations) {
    if (location.tenant !== undefined && location.tenant !== context.tenantId) continue;
    if (location.app !== undefined && location.app !== context.appId) continue;
    const prefix = location.minifiedPathPrefix ?? '';
    if (!file.startsWith(prefix)) continue;
    const base = renderRelease(location.path, context.release);
    if (base === undefined) continue;
    const segments = safeSegments(file.slice(prefix.length));
    if (segments.length === 0) continue;
    candidates.push(
      /^https?:\/\//i.test(base) ? urlCandidate(base, segments) : fileCandidate(base, segments),
    );
  }
  return candidates;
}

/**
 * `{release}` filled with the release stripped to `[A-Za-z0-9._+@-]` and without leading dots
 * (so a release cannot be `..` or a path); undefined when the template needs a release and the
 * payload has none.
 */
function renderRelease(template: string, release: string | undefined): string | undefined {
  if (!template.includes('{release}')) return template;
  const safe = (release ?? '').replace(/[^A-Za-z0-9._+@-]/g, '').replace(/^\.+/, '');
  return safe === '' ? undefined : template.replaceAll('{release}', safe);
}

/** Path segments, percent-decoded, without empty and `.` ones; `..` (or a hidden separator) refuses. */
function safeSegments(rest: string): string[] {
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw new PathRefusedError(`invalid percent-encoding in ${JSON.stringify(raw)}`);
    }
    if (segment === '' || segment === '.') continue;
    if (
      segment === '..' ||
      segment.includes('/') ||
      segment.includes('\\') ||
      segment.includes('\0')
    )
      throw new PathRefusedError(`the path segment ${JSON.stringify(raw)} is refused`);
    segments.push(segment);
  }
  return segments;
}

function fileCandidate(base: string, segments: string[]): LocationCandidate {
  const root = path.resolve(base);
  const file = `${path.resolve(root, ...segments)}.map`;
  // Cannot fail after safeSegments; kept as the invariant the read relies on.
  if (!file.startsWith(root + path.sep)) throw new PathRefusedError(`${file} is outside ${root}`);
  return { kind: 'file', root, file };
}

function urlCandidate(base: string, segments: string[]): LocationCandidate {
  const baseUrl = new URL(base.endsWith('/') ? base : `${base}/`);
  const url = new URL(`${segments.map(encodeURIComponent).join('/')}.map`, baseUrl);
  if (!url.href.startsWith(baseUrl.href))
    throw new PathRefusedError(`${url.href} is outside ${base}`);
  return { kind: 'url', url: url.href };
}

/** A map file found under a location directory: its identity (changes when the file does) and how to read it. */
export interface LocatedFile {
  key: string;
  bytes: number;
  read: () => Promise<Buffer>;
}

/**
 * Finds a candidate file. Symbolic links are followed only when the real path stays inside the
 * location's real directory. Undefined when there is no such file.
 */
export async function findLocationFile(
  candidate: { root: string; file: string },
  maxBytes: number,
): Promise<LocatedFile | undefined> {
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(candidate.file), realpath(candidate.root)]);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  if (!real.startsWith(realRoot + path.sep))
    throw new PathRefusedError(`${candidate.file} leads outside ${candidate.root}`);
  const info = await stat(real);
  if (!info.isFile()) return undefined;
  if (info.size > maxBytes)
    throw new MapTooLargeError(`${candidate.file} (${info.size} bytes) exceeds ${maxBytes} bytes`);
  return {
    key: `file:${real}:${info.mtimeMs}:${info.size}`,
    bytes: info.size,
    read: async () => {
      const content = await readFile(real);
      if (content.length > maxBytes)
        throw new MapTooLargeError(`${real} grew past ${maxBytes} bytes`);
      return content;
    },
  };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
