import { xxh3 } from '@node-rs/xxhash';
import { originMatcherOf, type KeyResolver, type OriginMatcher } from '../admission/index.js';
import { PharosError } from '../errors/index.js';
import type { App } from '../registry/index.js';

/**
 * `GET /config/:appKey` on the public listener: the client settings of the app the key resolves
 * to, for `@pharos/faro-remote-config` in the browser.
 *
 * The answer is built from the app alone (never its tenant, limits, origins or keys), so a key
 * can only ever read its own app's settings. App keys are public identifiers (they ship in every
 * page), so the same settings are already implied by what the app's pages do; the origin check
 * still applies, as on `/collect`, so other sites cannot read them from a browser.
 *
 * Caching: `public, max-age=60, stale-while-revalidate=600`. A minute bounds how long a change
 * takes to reach browsers and CDNs; within ten more minutes a page load gets the cached copy at
 * once while it is revalidated (a strong ETag makes that a 304). Longer would delay changes that
 * matter (a lowered sampling rate during an incident); shorter would only add requests, since
 * Faro samples a session once when it starts and the gateway applies the current rate anyway.
 * Errors are `no-store`: an unknown key must not stay cached once it is created.
 */

export const CONFIG_PREFIX = '/config/';
export const CONFIG_ROUTE = '/config/:appKey';
export const CONFIG_CACHE_CONTROL = 'public, max-age=60, stale-while-revalidate=600';
const ALLOW = 'GET, HEAD';

/** The key in `/config/<key>` (no further slash), or undefined when the path is not this route. */
export function configKeyFromPath(path: string): string | undefined {
  if (!path.startsWith(CONFIG_PREFIX) || path.length === CONFIG_PREFIX.length) return undefined;
  if (path.includes('/', CONFIG_PREFIX.length)) return undefined;
  return path.slice(CONFIG_PREFIX.length);
}

/** The JSON body, field by field: exactly what the browser helper reads. */
export interface RemoteConfigBody {
  samplingRate: number;
  tracePropagationUrls: string[];
  ignoreUrls: string[];
  environments: string[];
  /** The app's `updatedAt`: increases with every change, identical on every replica. */
  version: number;
}

export interface ConfigRequest {
  method: string | undefined;
  appKey: string;
  origin: string | undefined;
  ifNoneMatch: string | undefined;
}

/** What to write: a representation (200, or 304 to a matching `If-None-Match`) or an error. */
export type ConfigAnswer =
  | { ok: true; status: 200 | 304; headers: Record<string, string>; body: string }
  | { ok: false; error: PharosError; headers: Record<string, string> };

interface Representation {
  body: string;
  etag: string;
  matchesOrigin: OriginMatcher;
}

export function createRemoteConfigHandler(keys: KeyResolver) {
  // Apps are immutable snapshots that a registry reload replaces, so the body, ETag and origin
  // matcher are computed once per app version and dropped with it.
  const representations = new WeakMap<App, Representation>();
  const representationOf = (app: App): Representation => {
    let representation = representations.get(app);
    if (representation === undefined) {
      const body = JSON.stringify(remoteConfigBody(app));
      representation = {
        body,
        etag: `"${xxh3.xxh64(body).toString(16).padStart(16, '0')}"`,
        matchesOrigin: originMatcherOf(app.allowedOrigins),
      };
      representations.set(app, representation);
    }
    return representation;
  };

  return {
    answer(request: ConfigRequest): ConfigAnswer {
      const errorHeaders: Record<string, string> = {
        'cache-control': 'no-store',
        vary: 'Origin',
      };
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return {
          ok: false,
          error: new PharosError(
            'METHOD_NOT_ALLOWED',
            `${request.method ?? ''} is not allowed on ${CONFIG_ROUTE}; use GET`,
          ),
          headers: { ...errorHeaders, allow: ALLOW },
        };
      }
      const resolved = keys.resolveKey(request.appKey);
      if (resolved === undefined) {
        return {
          ok: false,
          error: new PharosError(
            'APP_KEY_INVALID',
            keys.isExpiredKey(request.appKey)
              ? 'the app key has expired (it was rotated); use the new key'
              : 'unknown app key',
          ),
          headers: errorHeaders,
        };
      }
      const { app } = resolved;
      const representation = representationOf(app);
      const { origin } = request;
      if (origin !== undefined && !representation.matchesOrigin(origin)) {
        return {
          ok: false,
          error: new PharosError(
            'ORIGIN_NOT_ALLOWED',
            `origin ${origin} is not allowed to read the config of app ${app.id}`,
          ),
          headers: errorHeaders,
        };
      }

      const headers: Record<string, string> = {
        etag: representation.etag,
        'cache-control': CONFIG_CACHE_CONTROL,
        vary: 'Origin',
      };
      // A simple GET: echoing the origin is all CORS needs (no preflight, no credentials).
      if (origin !== undefined) headers['access-control-allow-origin'] = origin;
      if (matchesAny(request.ifNoneMatch, representation.etag)) {
        return { ok: true, status: 304, headers, body: '' };
      }
      headers['content-type'] = 'application/json; charset=utf-8';
      // The body goes with HEAD too: it sets Content-Length, and Node sends no body for HEAD.
      return { ok: true, status: 200, headers, body: representation.body };
    },
  };
}

export type RemoteConfigHandler = ReturnType<typeof createRemoteConfigHandler>;

/** The settings a browser needs, and nothing else of the app. */
export function remoteConfigBody(app: App): RemoteConfigBody {
  return {
    samplingRate: app.samplingRate,
    tracePropagationUrls: app.tracePropagationUrls,
    ignoreUrls: app.ignoreUrls,
    environments: app.environments,
    version: app.updatedAt,
  };
}

/**
 * `If-None-Match` against our entity tag, with the weak comparison RFC 9110 §13.1.2 requires
 * for it (`W/"x"` matches `"x"`); `*` matches any current representation.
 */
function matchesAny(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  for (const candidate of ifNoneMatch.split(',')) {
    const tag = candidate.trim();
    if (tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag)) {
      return true;
    }
  }
  return false;
}
