import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';
import {
  createResponseValidator,
  operationsOf,
  readOpenApi,
  type DocumentedOperation,
} from './openapi-support.js';

/**
 * Tenant isolation, driven by docs/openapi.json: every operation of the internal listener is
 * called with tenant A's credentials, aimed at tenant B's objects, and must be refused (403),
 * while B's data and the audit log stay exactly as they were. A new route is covered the day it
 * is documented, and the document test makes sure every route is.
 */

const A = { tenant: 'alpha', app: 'alpha-web' };
const B = { tenant: 'bravo', app: 'bravo-shop', bundle: 'b1', file: 'app.min.js' };
const MARKER = 'isolation-marker';

const SOURCE_MAP = {
  version: 3,
  file: B.file,
  sources: ['src/app.ts'],
  names: [],
  mappings: 'AAAA',
};

/** Bodies of operations whose documented body has no JSON example (the test fails without one). */
const BODIES: Record<string, { contentType: string; body: unknown }> = {
  uploadSourceMaps: { contentType: 'application/json', body: SOURCE_MAP },
  uploadSourceMapsGrafanaPath: { contentType: 'application/json', body: SOURCE_MAP },
  exportTraces: { contentType: 'application/json', body: spans(MARKER) },
};

/** Reads that answer a tenant token with its own tenant's objects: 200, without B in them. */
const OWN_TENANT_LISTS = new Set(['listTenants', 'listApps', 'listTokens', 'listAudit']);

function spans(name: string) {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'checkout' } },
            // A payload naming another tenant changes nothing: the token decides.
            { key: 'pharos.tenant', value: { stringValue: B.tenant } },
          ],
        },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '0af7651916cd43dd8448eb211c80319c',
                spanId: 'b7ad6b7169203331',
                name,
                kind: 2,
                startTimeUnixNano: String(Date.now() * 1e6),
                endTimeUnixNano: String(Date.now() * 1e6 + 1e6),
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('tenant isolation over every route of the internal listener', () => {
  let pharos: TestPharos;
  const document = readOpenApi();
  const validator = createResponseValidator(document);
  const keys = { a: '', b: '' };
  const tokens = { aTenant: '', aSourcemaps: '', bTenant: '', bTenantId: '' };
  let fingerprint = '';

  const api = async (
    method: string,
    path: string,
    options: {
      token: string;
      body?: unknown;
      contentType?: string;
      headers?: Record<string, string>;
    },
  ) => {
    const controller = new AbortController();
    // A route that wrongly accepted would stream forever (tail): cut it, the status is known.
    const timer = setTimeout(() => controller.abort(), 3000);
    try {
      const response = await fetch(`${pharos.internalUrl}${path}`, {
        method,
        signal: controller.signal,
        headers: {
          authorization: `Bearer ${options.token}`,
          ...(options.body === undefined
            ? {}
            : { 'content-type': options.contentType ?? 'application/json' }),
          ...options.headers,
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const contentType = response.headers.get('content-type') ?? '';
      const text = contentType.startsWith('text/event-stream') ? '' : await response.text();
      const body: unknown = contentType.includes('json') && text ? JSON.parse(text) : text;
      return { status: response.status, contentType, body, text };
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  };
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await api(method, path, { token: pharos.adminToken, body });
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
    return answer.body as T;
  };
  const ingest = async (key: string, payload: unknown, headers: Record<string, string> = {}) =>
    (
      await fetch(`${pharos.publicUrl}/collect/${key}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(payload),
      })
    ).status;

  /** Everything of B that an admin can see, and the whole audit log. */
  const snapshotOfB = async () => {
    const app = `/api/v1/apps/${B.app}`;
    return {
      tenant: await admin('GET', `/api/v1/tenants/${B.tenant}`),
      apps: await admin('GET', `/api/v1/apps?tenant=${B.tenant}`),
      keys: await admin('GET', `${app}/keys`),
      tokens: await admin('GET', `/api/v1/tokens?tenant=${B.tenant}`),
      tenantLimits: await admin('GET', `/api/v1/tenants/${B.tenant}/limits`),
      appLimits: await admin('GET', `${app}/limits`),
      sourcemaps: await admin('GET', `${app}/sourcemaps`),
      logs: await admin('GET', `${app}/logs?limit=1000`),
      exceptions: await admin('GET', `${app}/exceptions?limit=1000`),
      errors: await admin('GET', `${app}/errors`),
      audit: await admin('GET', '/api/v1/audit?limit=500'),
    };
  };

  beforeAll(async () => {
    pharos = await startTestPharos({ demo: { enabled: false } });
    for (const { tenant, app } of [A, B]) {
      await admin('POST', '/api/v1/tenants', { id: tenant });
      const created = await admin<{ key: string }>('POST', '/api/v1/apps', {
        tenantId: tenant,
        id: app,
        name: app,
      });
      keys[tenant === A.tenant ? 'a' : 'b'] = created.key;
    }
    const issue = (name: string, scopes: string[]) =>
      admin<{ id: string; token: string }>('POST', '/api/v1/tokens', { name, scopes });
    tokens.aTenant = (await issue('alpha admin', [`tenant:${A.tenant}`])).token;
    tokens.aSourcemaps = (await issue('alpha ci', [`sourcemaps:${A.app}`])).token;
    const bToken = await issue('bravo admin', [`tenant:${B.tenant}`]);
    tokens.bTenant = bToken.token;
    tokens.bTenantId = bToken.id;

    // B's data: items, an error group, a source map.
    expect(
      await ingest(keys.b, {
        meta: { session: { id: 'bravo-session' } },
        logs: [{ message: 'bravo log', level: 'info', timestamp: new Date().toISOString() }],
        exceptions: [
          { type: 'TypeError', value: 'bravo broke', timestamp: new Date().toISOString() },
        ],
      }),
    ).toBe(202);
    await pharos.flush();
    const upload = await api('POST', `/app/${B.app}/sourcemaps/${B.bundle}`, {
      token: tokens.bTenant,
      body: SOURCE_MAP,
    });
    expect(upload.status).toBe(201);
    const groups = await admin<{ groups: { fingerprint: string }[] }>(
      'GET',
      `/api/v1/apps/${B.app}/errors`,
    );
    fingerprint = groups.groups[0]?.fingerprint ?? '';
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });
  afterAll(() => pharos.stop());

  /** The request an operation makes against B's objects: path, query, headers, body. */
  const requestAgainstB = (entry: DocumentedOperation) => {
    const values: Record<string, string> = {
      tenant: B.tenant,
      app: B.app,
      appId: B.app,
      key: keys.b,
      token: tokens.bTenantId,
      bundleId: B.bundle,
      file: B.file,
      fingerprint,
      kind: 'logs',
    };
    const path = entry.template.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`${entry.template}: no value for {${name}}`);
      return encodeURIComponent(value);
    });
    const params = entry.operation.parameters ?? [];
    const query = params.some((param) => param.in === 'query' && param.name === 'tenant')
      ? `?tenant=${B.tenant}`
      : '';
    const headers: Record<string, string> = {};
    if (params.some((param) => param.in === 'header' && param.name === 'x-pharos-tenant'))
      headers['x-pharos-tenant'] = B.tenant;

    let body: unknown;
    let contentType: string | undefined;
    if (entry.operation.requestBody) {
      const own = BODIES[entry.operation.operationId];
      const example = entry.operation.requestBody.content['application/json']?.example;
      if (own) ({ body, contentType } = own);
      else if (example !== undefined) body = aimedAtB(example);
      else throw new Error(`${entry.operation.operationId}: add a body to BODIES`);
    }
    return { path: `${path}${query}`, headers, body, contentType };
  };

  const operations = operationsOf(document).filter(
    // Public routes (metrics, health, demo) serve no tenant's objects by design.
    (entry) => entry.operation.security?.length !== 0,
  );

  it('covers the routes that hold tenant data', () => {
    const ids = operations.map((entry) => entry.operation.operationId);
    for (const id of [
      'createApp',
      'createToken',
      'listItems',
      'tailItems',
      'exportTraces',
      'uploadSourceMaps',
      'listErrorGroups',
      'listAudit',
      'setAppLimits',
      'revokeKey',
    ])
      expect(ids).toContain(id);
  });

  for (const credential of ['aTenant', 'aSourcemaps'] as const) {
    it(`refuses tenant A's ${credential === 'aTenant' ? 'tenant token' : 'source-map token'} on every operation aimed at B, and B is unchanged`, async () => {
      const before = await snapshotOfB();
      const failures: string[] = [];
      for (const entry of operations) {
        const request = requestAgainstB(entry);
        const answer = await api(entry.method, request.path, {
          token: tokens[credential],
          body: request.body,
          contentType: request.contentType,
          headers: request.headers,
        });
        const where = `${entry.method} ${request.path} (${entry.operation.operationId})`;
        const code = (answer.body as { code?: string } | undefined)?.code;
        const ownList =
          credential === 'aTenant' && OWN_TENANT_LISTS.has(entry.operation.operationId);
        const asksForB = request.path.includes(`?tenant=${B.tenant}`);
        if (ownList && !asksForB) {
          // A list without a tenant filter answers A's own objects: 200, none of B's.
          if (answer.status !== 200 || answer.text.includes(B.tenant))
            failures.push(`${where}: ${answer.status} ${answer.text.slice(0, 300)}`);
        } else if (answer.status !== 403 || code !== 'PHAROS_ERR_FORBIDDEN') {
          failures.push(`${where}: ${answer.status} ${answer.text.slice(0, 200)}`);
        }
        failures.push(
          ...validator.check(
            entry.method,
            request.path,
            answer.status,
            answer.contentType,
            answer.body,
          ),
        );
        if (ownList && asksForB) {
          const own = await api(entry.method, request.path.split('?')[0] as string, {
            token: tokens[credential],
          });
          if (own.status !== 200 || own.text.includes(B.tenant))
            failures.push(`${where} without ?tenant: ${own.status} ${own.text.slice(0, 300)}`);
        }
      }
      expect(failures).toEqual([]);
      expect(await snapshotOfB()).toEqual(before);
    });
  }

  it('the same requests reach B’s objects with an admin token (so the refusals above are not 404s in disguise)', async () => {
    for (const entry of operations.filter(
      (each) => each.method === 'GET' && each.operation.operationId !== 'tailItems',
    )) {
      const request = requestAgainstB(entry);
      const answer = await api('GET', request.path, { token: pharos.adminToken });
      expect(answer.status, `${request.path}: ${answer.text.slice(0, 200)}`).toBe(200);
    }
    const tail = await api('GET', `/api/v1/apps/${B.app}/tail`, { token: tokens.bTenant });
    expect(tail.status).toBe(200);
  });

  it("tenant A's app key ingests into A whatever the request claims", async () => {
    const claims = {
      meta: { app: { name: B.app }, session: { id: 'claims-bravo' } },
      logs: [{ message: `${MARKER} key`, timestamp: new Date().toISOString() }],
    };
    expect(await ingest(keys.a, claims, { 'x-api-key': keys.b, 'x-pharos-tenant': B.tenant })).toBe(
      202,
    );
    await pharos.flush();
    const store = pharos.store;
    if (!store) throw new Error('the store is on in this test');
    const inA = store.query({ appId: A.app, text: `${MARKER} key`, limit: 10 });
    const inB = store.query({ appId: B.app, text: `${MARKER} key`, limit: 10 });
    expect(inA.map((item) => [item.tenantId, item.appId])).toEqual([[A.tenant, A.app]]);
    expect(inB).toEqual([]);
  });

  it("tenant A's token sends OTLP spans as A, never as B", async () => {
    const refused = await api('POST', '/v1/traces', {
      token: tokens.aTenant,
      body: spans(`${MARKER} refused`),
      headers: { 'x-pharos-tenant': B.tenant },
    });
    expect(refused.status).toBe(403);
    const accepted = await api('POST', '/v1/traces', {
      token: tokens.aTenant,
      body: spans(`${MARKER} span`),
    });
    expect(accepted.status).toBe(200);
    await pharos.flush();
    const stored = pharos.store?.query({ appId: '', kind: 'span', text: MARKER, limit: 10 }) ?? [];
    expect(stored.map((item) => item.tenantId)).toEqual([A.tenant]);
    const attributes = (stored[0]?.resource?.attributes ?? []) as { key: string; value: unknown }[];
    expect(attributes.filter((attribute) => attribute.key === 'pharos.tenant')).toEqual([
      { key: 'pharos.tenant', value: { stringValue: A.tenant } },
    ]);
  });

  it("tenant A's tokens cannot upload source maps for B's app, whatever stack id they send", async () => {
    for (const token of [tokens.aTenant, tokens.aSourcemaps]) {
      for (const credential of [token, `${A.tenant}:${token}`, `${B.tenant}:${token}`]) {
        const answer = await api('POST', `/faro/api/v1/app/${B.app}/sourcemaps/evil`, {
          token: credential,
          body: { ...SOURCE_MAP, file: 'evil.min.js' },
        });
        expect(answer.status, credential.split(':')[0]).toBe(403);
      }
    }
    const maps = await admin<{ sourcemaps: { bundleId: string }[] }>(
      'GET',
      `/api/v1/apps/${B.app}/sourcemaps`,
    );
    expect(maps.sourcemaps.map((map) => map.bundleId)).toEqual([B.bundle]);
  });

  it('B’s own token is refused on A the same way (the model is symmetric)', async () => {
    const answer = await api('GET', `/api/v1/apps/${A.app}/logs`, { token: tokens.bTenant });
    expect(answer.status).toBe(403);
    // An app that does not exist answers the same 403: ids of other tenants do not leak.
    const ghost = await api('GET', '/api/v1/apps/no-such-app/logs', { token: tokens.bTenant });
    expect(ghost).toMatchObject({ status: 403 });
  });
});

/** The documented example, aimed at B: its ids swapped for B's, new objects given fresh ids. */
function aimedAtB(example: unknown): unknown {
  const text = JSON.stringify(example)
    .replace(/\bsourcemaps:shop\b/g, `sourcemaps:${B.app}`)
    .replace(/\btenant:acme\b/g, `tenant:${B.tenant}`)
    .replace(/"acme"/g, `"${B.tenant}"`)
    .replace(/"shop"/g, `"${B.app}-new"`);
  return JSON.parse(text) as unknown;
}
