import { isUtf8 } from 'node:buffer';
import { AnyMap, decodedMappings, type TraceMap } from '@jridgewell/trace-mapping';

/** The bytes are not a usable source map (the message says why, for a 400 or a log line). */
export class InvalidSourceMapError extends Error {
  override readonly name = 'InvalidSourceMapError';
}

/** The fields we rely on; everything else in a map is kept as uploaded. */
export interface SourceMapJson {
  version: 3;
  file?: unknown;
  sources?: unknown;
  mappings?: unknown;
  sections?: unknown;
  sourcesContent?: unknown;
}

/**
 * Parses and checks a source map: version 3 with `mappings` (a string) and `sources` (an array),
 * or an index map with `sections`. Only the shape is checked here; bad VLQ in `mappings` shows up
 * when a frame is resolved (as `invalid_map`).
 */
export function parseSourceMapJson(bytes: Buffer): SourceMapJson {
  if (!isUtf8(bytes)) throw new InvalidSourceMapError('the source map is not valid UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidSourceMapError(
      `the source map is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidSourceMapError('a source map is a JSON object');
  const map = parsed as Record<string, unknown>;
  if (map.version !== 3)
    throw new InvalidSourceMapError(
      `only version 3 source maps are supported (got version ${JSON.stringify(map.version)})`,
    );
  if (Array.isArray(map.sections)) return map as unknown as SourceMapJson;
  if (typeof map.mappings !== 'string')
    throw new InvalidSourceMapError('the source map has no "mappings" string');
  if (!Array.isArray(map.sources))
    throw new InvalidSourceMapError('the source map has no "sources" array');
  return map as unknown as SourceMapJson;
}

/** `dist/app.min.js` → `app.min.js`; both separators, because Windows builds write `file` too. */
export function basenameOf(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? '';
}

/**
 * The minified file a map describes, by which frames find it: the basename of the map's `file`,
 * else the map's own file name minus `.map` (tarball entries). Undefined when neither says.
 */
export function minifiedFileOf(map: SourceMapJson, mapFileName?: string): string | undefined {
  const fromFile = typeof map.file === 'string' ? basenameOf(map.file.trim()) : '';
  if (fromFile !== '') return fromFile;
  const fromName = mapFileName === undefined ? '' : basenameOf(mapFileName);
  return fromName.endsWith('.map') && fromName.length > 4 ? fromName.slice(0, -4) : undefined;
}

/**
 * Heap a map holds once parsed and decoded, estimated from its JSON without decoding it. The
 * JSON size alone is a poor proxy: decoded mappings cost ~100 bytes per segment (a small array
 * each) and ~180 per generated line, so the fixture's 2 MB map holds ~6 MB, and a map that is
 * all mappings 20 times its size (measured on Node 20, see bench/sourcemaps.ts). `sourcesContent`
 * is dropped before parsing (toTraceMap), so it costs nothing.
 */
export function estimateHeapBytes(map: SourceMapJson, jsonBytes: number): number {
  let estimate = jsonBytes;
  const visit = (part: SourceMapJson) => {
    if (Array.isArray(part.sourcesContent)) {
      for (const content of part.sourcesContent as unknown[])
        if (typeof content === 'string') estimate -= content.length;
    }
    if (typeof part.mappings === 'string') estimate += decodedMappingsCost(part.mappings);
    if (Array.isArray(part.sections)) {
      for (const section of part.sections as { map?: SourceMapJson }[])
        if (section.map) visit(section.map);
    }
  };
  visit(map);
  return Math.max(estimate, jsonBytes > 0 ? 1 : 0);
}

const SEGMENT_HEAP_BYTES = 100;
const LINE_HEAP_BYTES = 180;

/** Segments are separated by `,` within a line and lines by `;`; empty lines have none. */
function decodedMappingsCost(mappings: string): number {
  let segments = 0;
  let lines = 1;
  let lineHasSegment = false;
  for (let index = 0; index < mappings.length; index++) {
    const code = mappings.charCodeAt(index);
    if (code === 0x3b) {
      if (lineHasSegment) segments += 1;
      lines += 1;
      lineHasSegment = false;
    } else if (code === 0x2c) {
      segments += 1;
    } else {
      lineHasSegment = true;
    }
  }
  if (lineHasSegment) segments += 1;
  return segments * SEGMENT_HEAP_BYTES + lines * LINE_HEAP_BYTES;
}

/**
 * Builds the lookup structure for a checked map. `sourcesContent` is dropped first: Pharos never
 * shows source text, and it is often most of a map's size. The mappings are decoded now, so the
 * cost is paid once when the map is loaded rather than by the first frame that uses it.
 * `mapUrl` (when the map was downloaded) makes relative `sources` absolute, as browsers show them.
 */
export function toTraceMap(map: SourceMapJson, mapUrl?: string): TraceMap {
  delete map.sourcesContent;
  if (Array.isArray(map.sections)) {
    for (const section of map.sections as { map?: { sourcesContent?: unknown } }[])
      if (section.map) delete section.map.sourcesContent;
  }
  try {
    // AnyMap accepts both plain and index (sectioned) maps.
    const traceMap = AnyMap(map as Parameters<typeof AnyMap>[0], mapUrl);
    decodedMappings(traceMap);
    return traceMap;
  } catch (error) {
    throw new InvalidSourceMapError(
      `the source map cannot be decoded: ${(error as Error).message}`,
    );
  }
}
