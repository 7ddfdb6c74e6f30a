import { PharosError } from '../errors/index.js';
import type { Sender } from '../model/index.js';
import type { App } from '../registry/index.js';
import { originMatcherOf, type OriginMatcher } from './origins.js';

/** What admission needs from the registry: a synchronous, in-memory key lookup. */
export interface KeyResolver {
  resolveKey(key: string): { app: App; tenant: { id: string } } | undefined;
  isExpiredKey(key: string): boolean;
}

export interface AdmissionRequest {
  /** Key from `/collect/:appKey`; wins over the header (as Grafana Cloud's collector does). */
  pathKey: string | undefined;
  /** `x-api-key` header. */
  headerKey: string | undefined;
  /** `Origin` header; absent for non-browser senders, which the origin check does not apply to. */
  origin: string | undefined;
}

export interface Admitted {
  readonly sender: Sender;
  readonly app: App;
  /** The origin to echo in CORS headers, when the request came from an allowed browser origin. */
  readonly corsOrigin: string | undefined;
}

/**
 * Request-level admission: decides from the headers alone, before any body byte is read.
 * Unknown key ⇒ 401, browser origin outside the app's list ⇒ 403.
 */
export function createAdmission(keys: KeyResolver) {
  // Apps are immutable snapshots in the registry cache: a reload makes new objects and lists,
  // so the compiled matcher of an old list is dropped with it. Matchers are kept by list, not by
  // app: apps with equal origins share one list, hence one matcher (origins.ts).
  const matcherOf = (app: App): OriginMatcher => originMatcherOf(app.allowedOrigins);

  function resolve(request: Pick<AdmissionRequest, 'pathKey' | 'headerKey'>) {
    const key = request.pathKey || request.headerKey;
    if (!key) {
      throw new PharosError(
        'APP_KEY_MISSING',
        'no app key: post to /collect/<appKey> or send the x-api-key header',
      );
    }
    const resolved = keys.resolveKey(key);
    if (resolved === undefined) {
      throw new PharosError(
        'APP_KEY_INVALID',
        keys.isExpiredKey(key)
          ? 'the app key has expired (it was rotated); use the new key'
          : 'unknown app key',
      );
    }
    return resolved;
  }

  function checkOrigin(app: App, origin: string | undefined): string | undefined {
    if (origin === undefined) return undefined;
    if (!matcherOf(app)(origin)) {
      throw new PharosError(
        'ORIGIN_NOT_ALLOWED',
        `origin ${origin} is not allowed to send for app ${app.id}`,
      );
    }
    return origin;
  }

  return {
    /** Admits a POST: key, then origin. */
    admit(request: AdmissionRequest): Admitted {
      const { app, tenant } = resolve(request);
      const corsOrigin = checkOrigin(app, request.origin);
      return { sender: { tenantId: tenant.id, appId: app.id }, app, corsOrigin };
    },

    /**
     * Admits a CORS preflight. Browsers send no custom headers on a preflight, so `/collect`
     * (key in `x-api-key`) cannot be checked yet: any origin may ask, and the POST decides.
     */
    admitPreflight(pathKey: string | undefined, origin: string): string {
      if (!pathKey) return origin;
      const { app } = resolve({ pathKey, headerKey: undefined });
      return checkOrigin(app, origin) ?? origin;
    },
  };
}

export type Admission = ReturnType<typeof createAdmission>;
