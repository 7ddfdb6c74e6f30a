import type { FaroFrame } from '../../model/index.js';
import { memoize } from './memo.js';
import { looksLikeId } from './normalize-message.js';

/** What of a stack frame identifies an error across releases: never its line or column. */
export interface GroupingFrame {
  readonly function: string;
  readonly file: string;
}

export interface FrameOptions {
  /**
   * Values that change with every deploy and may appear in script paths (release, version,
   * bundle id): a path segment or file-name part equal to one of them is blanked out.
   */
  readonly releaseTokens?: readonly string[];
  /** Paths of library code besides the built-in ones (node_modules, vendor, …). */
  readonly libraryPatterns?: readonly RegExp[];
}

/** Frames the browser or the JS engine made up: no source file of the app behind them. */
const ENGINE_FILES = /^(?:<anonymous>|native|\[native code\]|eval|about:|chrome:\/\/|blob:)/i;
/** Code that browser extensions inject into the page. */
const EXTENSION_FILES =
  /^(?:chrome-extension|moz-extension|safari-extension|safari-web-extension|ms-browser-extension|webkit-masked-url):/i;
/** Library code, as bundlers and source maps name it. */
const LIBRARY_PATHS =
  /(?:^|[/\\])(?:node_modules|bower_components|jspm_packages|vendors?|third[-_]party)[/\\]|(?:^|[/\\])webpack\/(?:bootstrap|runtime)\b|^\(webpack\)/i;

/**
 * Whether a frame is the app's own code, the only frames that group errors. An explicit
 * `in_app` from the client wins; otherwise engine frames (`<anonymous>`), browser-extension
 * scripts and library paths (node_modules, vendor, bower_components, webpack runtime) are not.
 * Third-party scripts loaded from another origin count as the app's unless the client says
 * `in_app: false`: Pharos does not know which origins serve the app's own scripts.
 */
export function isInAppFrame(frame: FaroFrame, options: FrameOptions = {}): boolean {
  const filename = frame.filename?.trim() ?? '';
  if (frame.in_app === false) return false;
  if (filename === '' || ENGINE_FILES.test(filename)) return frame.in_app === true;
  if (frame.in_app === true) return true;
  if (EXTENSION_FILES.test(filename) || LIBRARY_PATHS.test(filename)) return false;
  return !(options.libraryPatterns ?? []).some((pattern) => pattern.test(filename));
}

/** The first `maxFrames` in-app frames, innermost first (Faro lists the throwing frame first). */
export function groupingFrames(
  frames: readonly FaroFrame[] | undefined,
  maxFrames: number,
  options: FrameOptions = {},
): GroupingFrame[] {
  const selected: GroupingFrame[] = [];
  for (const frame of frames ?? []) {
    if (selected.length >= maxFrames) break;
    if (!isInAppFrame(frame, options)) continue;
    selected.push({
      function: normalizeFunctionName(frame.function ?? ''),
      file: normalizeFilePath(frame.filename ?? '', options.releaseTokens ?? []),
    });
  }
  return selected;
}

/**
 * A function name without what a new build changes: minifiers rename functions and classes
 * (`aK`, `Yn.notify`, `Object.cK [as pushHandledError]`) but never properties, so the property
 * alias V8 prints (`[as pushHandledError]`) is kept and one- or two-letter names are dropped.
 * Symbolicated names (`computeLineTotal`) pass through unchanged.
 */
export function normalizeFunctionName(name: string): string {
  let text = name.trim();
  const alias = /\[as ([^\]]+)\]/.exec(text)?.[1];
  if (alias !== undefined) text = alias;
  text = text
    .replace(/^(?:async|new|get|set)\s+/, '')
    // Firefox marks anonymous functions inside a named one with `/<` suffixes.
    .replace(/[/<]+$/, '');
  const segments = text
    .split('.')
    .filter(
      (segment) =>
        segment.length > 2 &&
        segment !== '<anonymous>' &&
        segment !== '<computed>' &&
        segment !== 'anonymous',
    );
  return segments.length > 0 ? segments.join('.') : '?';
}

/** File extensions a script or source file may end with (kept; everything else may be a hash). */
const SCRIPT_EXTENSIONS = /^(?:m?js|cjs|jsx|ts|tsx|mts|cts|vue|svelte|html?|coffee)$/i;

/**
 * A script path that stays the same from release to release: no origin (CDN hosts change), no
 * query or fragment (cache busters), no content hashes (`app.3f9a2c.js`, `index-BwKqTzPx.js`,
 * `chunk-ABCD1234.js`), no build ids, versions or release names in directories, no leading `./`
 * or `../` (source-map sources such as `../../page/app.js` become `page/app.js`).
 */
export function normalizeFilePath(filename: string, releaseTokens: readonly string[] = []): string {
  // Release tokens change what a path becomes, so they are part of the key.
  return memoizedPath(`${releaseTokens.join('\u0000')}\u0001${filename}`);
}

const memoizedPath = memoize((key) => {
  const split = key.indexOf('\u0001');
  const tokens = split === 0 ? [] : key.slice(0, split).split('\u0000');
  return normalizeUncached(key.slice(split + 1), tokens);
});

function normalizeUncached(filename: string, releaseTokens: readonly string[]): string {
  let path = filename.trim();
  const cut = path.search(/[?#]/);
  if (cut !== -1) path = path.slice(0, cut);
  // Scheme and authority: `https://cdn.example.com:443`, and `webpack://my-app` of source maps.
  path = path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  const tokens = new Set(releaseTokens.filter((token) => token.length >= 2));
  const segments = path.split(/[/\\]+/).filter((segment) => segment !== '' && segment !== '.');
  while (segments[0] === '..') segments.shift();
  const last = segments.pop();
  if (last === undefined) return '';
  const directories = segments.map((segment) =>
    tokens.has(segment) || isVolatileSegment(segment) ? '*' : segment,
  );
  return [...directories, normalizeFileName(last, tokens)].join('/');
}

function normalizeFileName(name: string, tokens: ReadonlySet<string>): string {
  const dotParts = name.split('.');
  const extension =
    dotParts.length > 1 && SCRIPT_EXTENSIONS.test(dotParts[dotParts.length - 1] ?? '')
      ? dotParts.pop()
      : undefined;
  const kept = dotParts
    .map((part) =>
      stripRollupHash(part)
        .split('-')
        .filter((piece) => !tokens.has(piece) && !isContentHash(piece))
        .join('-'),
    )
    .filter((part) => part !== '');
  const stem = kept.length > 0 ? kept.join('.') : '*';
  return extension === undefined ? stem : `${stem}.${extension}`;
}

/** Directory names that a deploy changes: versions, build ids, hashes, numbers. */
function isVolatileSegment(segment: string): boolean {
  return (
    /^v?\d+(?:\.\d+)+(?:[-+][\w.]+)?$/i.test(segment) ||
    /^\d+$/.test(segment) ||
    isContentHash(segment) ||
    looksLikeId(segment.replace(/[-_]/g, ''))
  );
}

/**
 * A bundler's content hash or chunk id in a file name: hex of six or more with a digit (webpack,
 * Next.js), eight or more letters and digits with a digit (esbuild), pure numbers (webpack chunk
 * ids).
 */
function isContentHash(piece: string): boolean {
  return (
    /^\d+$/.test(piece) ||
    /^(?=[0-9a-f]*\d)[0-9a-f]{6,}$/i.test(piece) ||
    /^(?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]{8,}$/.test(piece)
  );
}

/**
 * Vite and Rollup name chunks `name-[hash]` with eight base64url characters, which may hold no
 * digit and may hold a dash (`index-Bw-qTzPx`). Stripped unless they read as a word
 * (`user-settings`, `shop-UserList`).
 */
function stripRollupHash(part: string): string {
  const match = /^(.+?)-([A-Za-z0-9_-]{8})$/.exec(part);
  if (!match) return part;
  const [, stem = part, hash = ''] = match;
  const isWord = /^[A-Z]?[a-z]{2,}(?:[A-Z][a-z]{2,})*$/.test(hash);
  return isWord ? part : stem;
}
