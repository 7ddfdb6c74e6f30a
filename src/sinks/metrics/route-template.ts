import { ID_PLACEHOLDER, looksLikeId } from './id-segments.js';
import { decodeSegment, parseRoutePatterns } from './route-patterns.js';

/** The route of a page whose URL is missing or has no path (`about:blank`, `data:…`). */
export const UNKNOWN_ROUTE = 'unknown';

/** Resolves relative URLs (`/products/1`, from hand-written senders); never shown. */
const BASE_FOR_RELATIVE_URLS = 'http://relative.invalid';

/** A page URL → the `route` label: a bounded template of its path. */
export type RouteTemplater = (url: string | undefined) => string;

/**
 * Builds the templater: the path of the URL (origin, query string and fragment dropped, empty
 * segments and the trailing slash removed, dot segments resolved, percent-escapes decoded),
 * then the first configured pattern that matches (`/products/:id`), else the path with id-like
 * segments replaced by `:id`. Throws at construction if a pattern is invalid.
 *
 * Hash-based routers (`/#/products/1`) all share the route `/`: the fragment is dropped, as it
 * often carries state rather than a route.
 */
export function createRouteTemplater(patterns: readonly string[]): RouteTemplater {
  const compiled = parseRoutePatterns(patterns);
  const template = (url: string): string => {
    const segments = pathSegments(url);
    if (!segments) return UNKNOWN_ROUTE;
    for (const pattern of compiled) {
      if (pattern.matches(segments)) return pattern.route;
    }
    return `/${segments.map((segment) => (looksLikeId(segment) ? ID_PLACEHOLDER : segment)).join('/')}`;
  };

  // Parsing a URL and testing its segments costs ~1.5 µs; the same pages come back all the time,
  // so recent results are kept. Keyed without query and fragment, which vary per visit but never
  // change the route. Cleared when full: simpler than an LRU, and it refills within seconds.
  const recent = new Map<string, string>();
  return (url) => {
    if (!url) return UNKNOWN_ROUTE;
    const key = withoutQueryAndFragment(url);
    let route = recent.get(key);
    if (route === undefined) {
      if (recent.size >= ROUTE_CACHE_SIZE) recent.clear();
      recent.set(key, (route = template(key)));
    }
    return route;
  };
}

const ROUTE_CACHE_SIZE = 4096;

function withoutQueryAndFragment(url: string): string {
  const query = url.indexOf('?');
  const fragment = url.indexOf('#');
  const end = query === -1 ? fragment : fragment === -1 ? query : Math.min(query, fragment);
  return end === -1 ? url : url.slice(0, end);
}

function pathSegments(url: string): string[] | undefined {
  let pathname: string;
  try {
    pathname = new URL(url, BASE_FOR_RELATIVE_URLS).pathname;
  } catch {
    return undefined;
  }
  // Opaque URLs (`about:blank`, `javascript:…`) have a path that is not a path.
  if (!pathname.startsWith('/')) return undefined;
  const segments: string[] = [];
  for (const segment of pathname.split('/')) {
    if (segment !== '') segments.push(decodeSegment(segment));
  }
  return segments;
}
