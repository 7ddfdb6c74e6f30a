import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildOpenApiDocument,
  createDocumentedServer,
  renderOpenApiJson,
} from '../../src/admin/openapi/generate.js';
import {
  formatMarkdown,
  renderRouteTable,
  withRouteTable,
} from '../../src/admin/openapi/route-table.js';
import { startTestPharos, type TestPharos } from '../helpers/pharos.js';
import {
  OPENAPI_FILE,
  createResponseValidator,
  fastifyPath,
  operationsOf,
  readOpenApi,
} from './openapi-support.js';

const document = readOpenApi();

describe('docs/openapi.json', () => {
  it('is what the routes generate (run `npm run docs` after changing a route)', async () => {
    const generated = await renderOpenApiJson(await buildOpenApiDocument());
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(generated);
  });

  it('is listed route by route, with scopes, in docs/api.md (run `npm run docs`)', async () => {
    const apiDoc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    // The checked-in document is the one the test above holds to the routes.
    const table = renderRouteTable(document as Parameters<typeof renderRouteTable>[0]);
    expect(apiDoc).toBe(await formatMarkdown(withRouteTable(apiDoc, table)));
  });

  it('documents every route Fastify registered, and nothing else', async () => {
    const { app, close } = await createDocumentedServer();
    try {
      // HEAD routes mirror GET ones (Fastify adds them): the document leaves them out.
      const registered = app.registeredRoutes
        .filter((route) => route.method !== 'HEAD')
        .map((route) => `${route.method} ${route.url}`)
        .sort();
      const documented = operationsOf(document)
        .map((entry) => `${entry.method} ${fastifyPath(entry.template)}`)
        .sort();
      expect(documented).toEqual(registered);
      expect(registered.length).toBeGreaterThan(35);
    } finally {
      await close();
    }
  });

  it('gives every operation an id, a summary, a tag, its scopes, security and a 2xx answer', () => {
    const ids = new Set<string>();
    for (const { method, template, operation } of operationsOf(document)) {
      const where = `${method} ${template}`;
      expect(operation.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(ids.has(operation.operationId), `${where}: duplicate operationId`).toBe(false);
      ids.add(operation.operationId);
      expect(operation.summary, where).toBeTruthy();
      expect(operation.tags?.length, where).toBe(1);
      expect(Array.isArray(operation['x-scopes']), `${where}: x-scopes`).toBe(true);
      expect(operation.security, `${where}: security`).toBeDefined();
      const success = Object.keys(operation.responses).filter((status) => status.startsWith('2'));
      expect(success, where).toHaveLength(1);
      const ok = operation.responses[success[0] as string];
      expect(ok?.content, `${where}: ${success[0] ?? ''} has a body schema`).toBeDefined();
      for (const param of template.match(/\{([^}]+)\}/g) ?? []) {
        const name = param.slice(1, -1);
        expect(
          operation.parameters?.some((p) => p.in === 'path' && p.name === name),
          `${where}: path parameter ${name}`,
        ).toBe(true);
      }
      const isPublic = operation.security?.length === 0;
      if (isPublic) {
        expect(operation['x-scopes'], `${where}: public routes need no scope`).toEqual([]);
      } else {
        expect(operation.security, where).toEqual([{ bearerAuth: [] }]);
        expect(operation.responses['401'], `${where}: documents 401`).toBeDefined();
        expect(operation['x-scopes']?.length, `${where}: names its scopes`).toBeGreaterThan(0);
      }
    }
  });

  it('keeps the public routes to metrics, health, this document and the demo page', () => {
    const publicOps = operationsOf(document)
      .filter((entry) => entry.operation.security?.length === 0)
      .map((entry) => `${entry.method} ${entry.template}`)
      .sort();
    expect(publicOps).toEqual([
      'GET /-/healthy',
      'GET /-/ready',
      'GET /demo',
      'GET /demo/api/checkout',
      'GET /demo/app.js',
      'GET /metrics',
      'GET /openapi.json',
    ]);
  });
});

describe('answers of a running Pharos match docs/openapi.json', () => {
  let pharos: TestPharos;
  const validator = createResponseValidator(document);

  const call = async (method: string, path: string, body?: unknown, token = pharos.adminToken) => {
    const response = await fetch(`${pharos.internalUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const contentType = response.headers.get('content-type') ?? undefined;
    const text = await response.text();
    const parsed: unknown = contentType?.includes('json') && text ? JSON.parse(text) : text;
    return {
      status: response.status,
      body: parsed,
      problems: validator.check(method, path, response.status, contentType, parsed),
    };
  };

  beforeAll(async () => {
    pharos = await startTestPharos({ demo: { enabled: true } });
  });
  afterAll(() => pharos.stop());

  it('for each kind of answer: objects, lists, pages, errors, text', async () => {
    const key = (
      (await call('POST', '/api/v1/tenants', { id: 'acme', name: 'ACME' })) &&
      ((await call('POST', '/api/v1/apps', { tenantId: 'acme', id: 'shop', name: 'Shop' }))
        .body as { key: string })
    ).key;
    await fetch(`${pharos.publicUrl}/collect/${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        meta: { session: { id: 's1' } },
        logs: [{ message: 'hello', level: 'info', timestamp: new Date().toISOString() }],
        exceptions: [
          { type: 'TypeError', value: 'x is undefined', timestamp: new Date().toISOString() },
        ],
      }),
    });
    await pharos.flush();
    const token = (
      await call('POST', '/api/v1/tokens', { name: 'ci', scopes: ['tenant:acme'], expiresIn: '1d' })
    ).body as { id: string; token: string };
    const group = (
      (await call('GET', '/api/v1/apps/shop/errors')).body as { groups: { fingerprint: string }[] }
    ).groups[0];

    const calls: [string, string, unknown?][] = [
      ['GET', '/api/v1/tenants'],
      ['GET', '/api/v1/tenants/acme'],
      [
        'PATCH',
        '/api/v1/tenants/acme',
        { orgId: 'acme-org', sinks: { loki: { headers: { authorization: 'Basic x' } } } },
      ],
      ['GET', '/api/v1/tenants/acme/limits'],
      ['PUT', '/api/v1/tenants/acme/limits', { requests: { perSecond: 10, burst: 20 } }],
      ['GET', '/api/v1/apps?tenant=acme'],
      ['GET', '/api/v1/apps/shop'],
      ['PATCH', '/api/v1/apps/shop', { samplingRate: 0.5, environments: ['production'] }],
      ['GET', '/api/v1/apps/shop/limits'],
      ['PUT', '/api/v1/apps/shop/limits', { kinds: { log: { perSecond: 5, burst: 5 } } }],
      ['GET', '/api/v1/apps/shop/keys'],
      ['POST', '/api/v1/apps/shop/keys/rotate', { grace: '1h' }],
      ['GET', '/api/v1/tokens'],
      ['GET', `/api/v1/tokens/${token.id}`],
      ['GET', '/api/v1/audit?limit=3'],
      ['GET', '/api/v1/apps/shop/logs'],
      ['GET', '/api/v1/apps/shop/exceptions?limit=1'],
      ['GET', '/api/v1/apps/shop/errors'],
      ['GET', `/api/v1/apps/shop/errors/${group?.fingerprint ?? 'none'}`],
      ['GET', '/api/v1/apps/shop/sourcemaps'],
      ['GET', '/api/v1/apps/ghost'],
      ['GET', '/api/v1/apps/shop/logs?cursor=garbage'],
      ['POST', '/api/v1/tenants', { id: 'acme' }],
      ['GET', '/api/v1/apps/shop/traces'],
      ['DELETE', `/api/v1/tokens/${token.id}`],
      ['GET', '/metrics'],
      ['GET', '/-/ready'],
      ['GET', '/openapi.json'],
      ['GET', '/demo/api/checkout'],
    ];
    const statuses: number[] = [];
    for (const [method, path, body] of calls) {
      const answer = await call(method, path, body);
      statuses.push(answer.status);
      expect(answer.problems, `${method} ${path}`).toEqual([]);
    }
    // The calls above cover successes and each kind of error.
    expect(new Set(statuses)).toEqual(new Set([200, 201, 400, 404, 409]));
  });

  it('the served /openapi.json is the checked-in document', async () => {
    const served = (await call('GET', '/openapi.json')).body;
    expect(served).toEqual(document);
  });

  it('the validator does catch an answer that does not match', () => {
    expect(
      validator.check('GET', '/api/v1/tenants/acme', 200, 'application/json', { id: 'acme' }),
    ).not.toEqual([]);
    expect(validator.check('GET', '/api/v1/tenants/acme', 418, 'application/json', {})).not.toEqual(
      [],
    );
  });
});
