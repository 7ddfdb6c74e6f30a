/**
 * Configured route patterns, in the style of web routers:
 *
 * - `/products/:id`   a segment starting with `:` matches any one segment;
 * - `/docs/*`         a final `*` matches one or more remaining segments;
 * - `/products/new`   other segments match themselves exactly (case-sensitive; both the
 *                     pattern and the path are percent-decoded, so `/café` = `/caf%C3%A9`).
 *
 * Patterns are tried in order and the first match wins, so put `/products/new` before
 * `/products/:id`. The route label is the pattern as written, without a trailing slash.
 * Regular expressions are deliberately not offered: these three forms cover router tables, and a
 * pattern can neither be slow (no backtracking) nor match more than its author can read off it.
 */

export interface RoutePattern {
  /** The route label value: the pattern without a trailing slash (`/` for the root). */
  readonly route: string;
  /** Whether the path's segments (no empty ones, decoded) match. */
  matches(segments: readonly string[]): boolean;
}

type PatternSegment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'param' }
  | { readonly kind: 'rest' };

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses one pattern; throws an Error that names the pattern and the problem. */
export function parseRoutePattern(pattern: string): RoutePattern {
  const fail = (problem: string): never => {
    throw new Error(`route pattern ${JSON.stringify(pattern)}: ${problem}`);
  };
  if (!pattern.startsWith('/')) fail('must start with "/"');
  if (/[?#]/.test(pattern)) fail('must be a path only (no "?" or "#")');
  const texts = pattern.split('/').filter((text) => text !== '');
  const segments = texts.map((text, index): PatternSegment => {
    if (text === '*') {
      if (index !== texts.length - 1) fail('"*" may only be the last segment');
      return { kind: 'rest' };
    }
    if (text.includes('*')) fail('"*" must be a whole segment');
    if (text.startsWith(':')) {
      if (!PARAM_NAME.test(text.slice(1))) fail(`"${text}" is not a valid ":name" segment`);
      return { kind: 'param' };
    }
    return { kind: 'literal', text: decodeSegment(text) };
  });
  return {
    route: `/${texts.join('/')}`,
    matches: (path) => matchSegments(segments, path),
  };
}

/** `%`-escapes decoded; a malformed escape is kept as written (it then matches itself). */
export function decodeSegment(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Parses every pattern, in order; throws on the first invalid one. */
export function parseRoutePatterns(patterns: readonly string[]): RoutePattern[] {
  return patterns.map(parseRoutePattern);
}

function matchSegments(pattern: readonly PatternSegment[], path: readonly string[]): boolean {
  const last = pattern[pattern.length - 1];
  if (last?.kind === 'rest') {
    if (path.length < pattern.length) return false;
  } else if (path.length !== pattern.length) {
    return false;
  }
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index];
    if (expected?.kind === 'literal' && expected.text !== path[index]) return false;
  }
  return true;
}
