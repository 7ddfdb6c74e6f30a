import { gzipSync } from 'node:zlib';
import { BROWSER_HEADERS, type SessionStep } from './fixtures.js';
import { idempotencyKey, valueShapedLike, type Random } from './random.js';
import { renderTemplate, type IdMap } from './template.js';

/** One app the load is sent for. */
export interface AppTarget {
  readonly key: string;
  /** `Origin` header, as a browser on the app's page sends it; none when undefined. */
  readonly origin?: string | undefined;
  /** Reporting only: requests and answers are also counted per tenant. */
  readonly tenant?: string | undefined;
}

/** Where the app key goes: Pharos and Grafana Cloud take `/collect/<key>`; Alloy takes `x-api-key`. */
export type KeyPlacement = 'path' | 'header';

export interface GeneratedRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly gzip: boolean;
  readonly step: string;
  readonly tenant: string | undefined;
}

export interface RequestSourceOptions {
  readonly steps: readonly SessionStep[];
  readonly apps: readonly AppTarget[];
  /** Sessions under way at once; their requests are interleaved, as many browsers' would be. */
  readonly sessions: number;
  /** Share of requests sent gzip-compressed (the SDK's `requestCompression`), 0..1. */
  readonly gzipShare: number;
  readonly keyPlacement: KeyPlacement;
  /** Base path of the collector (`/collect`). */
  readonly collectPath: string;
  /** Header that carries the app's tenant, for gateways that route on it (none when undefined). */
  readonly tenantHeader?: string | undefined;
  readonly random: Random;
  readonly clock?: () => number;
}

export interface RequestSource {
  next(): GeneratedRequest;
  /** Sessions started so far (finished ones included). */
  readonly sessionsStarted: number;
}

interface ActiveSession {
  app: AppTarget;
  ids: IdMap;
  step: number;
}

/**
 * Simulated sessions: each walks the captured visit step by step with fresh ids (session, page
 * views, traces, idempotency keys) and timestamps; a finished session is replaced by a new one
 * for the next app, so load spreads over every app key. Requests come round-robin from the
 * sessions under way.
 */
export function createRequestSource(options: RequestSourceOptions): RequestSource {
  const { steps, apps, random } = options;
  if (steps.length === 0) throw new Error('a session needs at least one step');
  if (apps.length === 0) throw new Error('at least one app key is needed');
  if (!(options.sessions >= 1)) throw new Error('at least one session is needed');
  const clock = options.clock ?? Date.now;
  const fresh = (captured: string) => valueShapedLike(captured, random);
  const base = options.collectPath.replace(/\/+$/, '');
  let appCursor = 0;
  let started = 0;
  let gzipCredit = 0;

  const newSession = (): ActiveSession => {
    const app = apps[appCursor] as AppTarget;
    appCursor = (appCursor + 1) % apps.length;
    started++;
    return { app, ids: new Map(), step: 0 };
  };
  const sessions: ActiveSession[] = Array.from({ length: options.sessions }, newSession);
  let cursor = 0;

  return {
    get sessionsStarted() {
      return started;
    },
    next(): GeneratedRequest {
      let session = sessions[cursor] as ActiveSession;
      if (session.step >= steps.length) {
        session = newSession();
        sessions[cursor] = session;
      }
      cursor = (cursor + 1) % sessions.length;
      const step = steps[session.step++] as SessionStep;
      const text = renderTemplate(step.template, session.ids, fresh, clock());

      // Spread compressed requests evenly instead of drawing them: a short run gets its share.
      gzipCredit += options.gzipShare;
      const gzip = gzipCredit >= 1;
      if (gzip) gzipCredit -= 1;
      const body = gzip ? gzipSync(text) : Buffer.from(text, 'utf8');

      const headers: Record<string, string> = { ...BROWSER_HEADERS };
      headers['content-type'] = 'application/json';
      if (gzip) headers['content-encoding'] = 'gzip';
      const sessionId = step.template.sessionId && session.ids.get(step.template.sessionId);
      if (sessionId) headers['x-faro-session-id'] = sessionId;
      headers['idempotency-key'] = idempotencyKey(random);
      const { app } = session;
      if (app.origin !== undefined) {
        headers.origin = app.origin;
        headers.referer = `${app.origin}/`;
      }
      if (options.keyPlacement === 'header') headers['x-api-key'] = app.key;
      if (options.tenantHeader && app.tenant !== undefined)
        headers[options.tenantHeader] = app.tenant;
      const path =
        options.keyPlacement === 'path' ? `${base}/${encodeURIComponent(app.key)}` : base;
      return { path, headers, body, gzip, step: step.name, tenant: app.tenant };
    },
  };
}
