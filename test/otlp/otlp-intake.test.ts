import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerOtlpRoutes } from '../../src/admin/routes/otlp-routes.js';
import { createInternalServer } from '../../src/admin/server.js';
import { PharosError } from '../../src/errors/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import type { AcceptedBatch, OtlpResourceSpans } from '../../src/model/index.js';
import { Registry, openSqliteRegistry } from '../../src/registry/index.js';
import { createTracesProtocol } from '../../src/sinks/otlp/index.js';
import { readFixtureJson } from '../helpers/fixtures.js';
import {
  ReferenceExportTraceServiceRequest,
  startOtlpReceiver,
  type OtlpReceiver,
} from '../helpers/otlp-receiver.js';
import {
  CLICK_FETCH_FIXTURE,
  OTLP_EXPORT_FIXTURE,
  batchOf,
  fixturePayload,
  spansOf,
  stringAttribute,
} from './support.js';

const MAX_BODY_BYTES = 64 * 1024;
const MAX_SPANS = 20;

/** hex ids → bytes, as the generated `fromObject` wants them (it would read hex as base64). */
function referenceObject(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(referenceObject);
  if (typeof json !== 'object' || json === null) return json;
  return Object.fromEntries(
    Object.entries(json).map(([key, value]) => [
      key,
      ['traceId', 'spanId', 'parentSpanId'].includes(key) && typeof value === 'string'
        ? Buffer.from(value, 'hex')
        : referenceObject(value),
    ]),
  );
}

/** OTLP/JSON → protobuf bytes, by the OpenTelemetry project's generated encoder (not Pharos's). */
function referenceProtobuf(json: unknown): Buffer {
  const message = ReferenceExportTraceServiceRequest.fromObject(referenceObject(json) as object);
  return Buffer.from(ReferenceExportTraceServiceRequest.encode(message).finish());
}

/** The server span a backend records for the browser's fetch (fixture 11): same trace, child of it. */
function backendRequest(traceId: string, parentSpanId: string) {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'shop-api' } },
            { key: 'pharos.tenant', value: { stringValue: 'globex' } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: '@opentelemetry/instrumentation-http', version: '0.52.1' },
            spans: [
              {
                traceId,
                spanId: 'b7ad6b7169203331',
                parentSpanId,
                name: 'GET /api/buy',
                kind: 2,
                startTimeUnixNano: '1795573543525000000',
                endTimeUnixNano: '1795573543540000000',
                attributes: [
                  { key: 'http.route', value: { stringValue: '/api/buy' } },
                  { key: 'http.response.status_code', value: { intValue: '200' } },
                ],
                events: [
                  {
                    timeUnixNano: '1795573543530000000',
                    name: 'db.query',
                    attributes: [{ key: 'db.rows', value: { intValue: '3' } }],
                  },
                ],
                status: { code: 1 },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('OTLP/HTTP trace intake on the internal listener', () => {
  let dataDir: string;
  let registry: Registry;
  let app: FastifyInstance;
  let baseUrl: string;
  const accepted: AcceptedBatch[] = [];
  let acceptHook: ((batch: AcceptedBatch) => void) | undefined;
  const tokens: Record<'acme' | 'globex' | 'admin' | 'both' | 'sourcemaps', string> = {
    acme: '',
    globex: '',
    admin: '',
    both: '',
    sourcemaps: '',
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pharos-otlp-'));
    registry = new Registry(openSqliteRegistry(join(dataDir, 'registry.db')));
    await registry.refresh(true);
    await registry.createTenant({ id: 'acme' });
    await registry.createTenant({ id: 'globex' });
    tokens.acme = (await registry.createToken('acme-api', ['tenant:acme'])).token;
    tokens.globex = (await registry.createToken('globex-api', ['tenant:globex'])).token;
    tokens.admin = (await registry.createToken('ops', ['admin'])).token;
    tokens.both = (await registry.createToken('shared', ['tenant:acme', 'tenant:globex'])).token;
    tokens.sourcemaps = (await registry.createToken('ci', ['sourcemaps:shop'])).token;

    app = await createInternalServer({
      registry,
      store: undefined,
      metrics: createMetrics('test'),
      logger: pino({ level: 'silent' }),
      staticAdminToken: '',
      isReady: () => true,
      defaultKeyGraceMs: 0,
      publicUrl: 'http://127.0.0.1:1',
      // Registered the way the assembly would (see the report): a plugin of the listener.
      plugins: [
        (instance) =>
          registerOtlpRoutes(instance, {
            registry,
            accept: (batch) => {
              acceptHook?.(batch);
              accepted.push(batch);
            },
            limits: {
              maxBodyBytes: MAX_BODY_BYTES,
              bodyTimeoutMs: 2000,
              maxJsonDepth: 64,
              maxItemsPerRequest: MAX_SPANS,
            },
          }),
      ],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    baseUrl = `http://127.0.0.1:${address.port}`;
  });

  afterEach(() => {
    accepted.length = 0;
    acceptHook = undefined;
  });

  afterAll(async () => {
    await app.close();
    await registry.store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = async (
    body: Buffer | string,
    headers: Record<string, string | undefined> = {},
    token: string | null = tokens.acme,
  ) => {
    const response = await request(`${baseUrl}/v1/traces`, {
      method: 'POST',
      headers: Object.fromEntries(
        Object.entries({
          'content-type': 'application/json',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...headers,
        }).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ),
      body,
    });
    const raw = Buffer.from(await response.body.arrayBuffer());
    const type = String(response.headers['content-type'] ?? '');
    return {
      status: response.statusCode,
      type,
      headers: response.headers,
      raw,
      json:
        type.includes('json') && raw.length > 0
          ? (JSON.parse(raw.toString()) as Record<string, unknown>)
          : undefined,
    };
  };
  const exportJson = () => JSON.stringify(readFixtureJson(OTLP_EXPORT_FIXTURE));
  const exportProtobuf = () => referenceProtobuf(readFixtureJson(OTLP_EXPORT_FIXTURE));

  describe('accepts OTLP/HTTP', () => {
    it('JSON: 200 with an empty JSON ExportTraceServiceResponse, spans handed on for the token’s tenant', async () => {
      const answer = await post(exportJson());
      expect(answer).toMatchObject({ status: 200, json: {} });
      expect(answer.type).toMatch(/^application\/json/);
      expect(accepted).toHaveLength(1);
      const [batch] = accepted;
      expect(batch).toMatchObject({ tenantId: 'acme', appId: '', itemCount: 1 });
      // The JSON door keeps the spans exactly as sent; only the resource gains pharos.tenant.
      const sent = readFixtureJson(OTLP_EXPORT_FIXTURE) as { resourceSpans: OtlpResourceSpans[] };
      expect(spansOf(batch?.payload.traces?.resourceSpans)).toEqual(spansOf(sent.resourceSpans));
      expect(spansOf(sent.resourceSpans).map((span) => span.spanId)).toEqual(['fab2adf4b5c12ec0']);
      expect(batch?.payload.traces?.resourceSpans?.[0]?.resource?.attributes).toContainEqual({
        key: 'pharos.tenant',
        value: { stringValue: 'acme' },
      });
    });

    it('protobuf: 200 with an empty protobuf body, and the same spans as the JSON request', async () => {
      await post(exportJson());
      const answer = await post(exportProtobuf(), { 'content-type': 'application/x-protobuf' });
      expect(answer.status).toBe(200);
      expect(answer.type).toBe('application/x-protobuf');
      expect(answer.raw).toHaveLength(0);
      const [fromJson, fromProtobuf] = accepted;
      const comparable = (batch: AcceptedBatch | undefined) =>
        spansOf(batch?.payload.traces?.resourceSpans).map((span) => ({
          ...span,
          // JSON keeps what the sender wrote (intValue 200, empty lists); compare the values.
          attributes: span.attributes?.map((attribute) => ({
            key: attribute.key,
            value:
              attribute.value?.intValue === undefined
                ? attribute.value
                : { intValue: String(attribute.value.intValue) },
          })),
          events: span.events ?? [],
          links: span.links ?? [],
          droppedAttributesCount: span.droppedAttributesCount ?? 0,
          droppedEventsCount: (span as Record<string, unknown>).droppedEventsCount ?? 0,
          droppedLinksCount: (span as Record<string, unknown>).droppedLinksCount ?? 0,
          // The reference encoder predates Span.flags; the JSON has them.
          flags: undefined,
        }));
      expect(comparable(fromProtobuf)).toEqual(comparable(fromJson));
      expect(fromProtobuf?.bytes).toBeGreaterThan(answer.raw.length);
    });

    it('gzip bodies in both encodings', async () => {
      for (const [body, type] of [
        [Buffer.from(exportJson()), 'application/json'],
        [exportProtobuf(), 'application/x-protobuf'],
      ] as const) {
        const answer = await post(gzipSync(body), {
          'content-type': type,
          'content-encoding': 'gzip',
        });
        expect(answer.status).toBe(200);
      }
      expect(accepted.map((batch) => batch.itemCount)).toEqual([1, 1]);
    });

    it('an empty request is answered 200 and hands nothing on', async () => {
      expect((await post('{}')).status).toBe(200);
      expect(
        (await post(Buffer.alloc(0), { 'content-type': 'application/x-protobuf' })).status,
      ).toBe(200);
      expect(accepted).toEqual([]);
    });
  });

  describe('authentication and tenancy', () => {
    it('refuses a missing or unknown token with 401', async () => {
      expect((await post(exportJson(), {}, null)).json).toMatchObject({
        code: 'PHAROS_ERR_UNAUTHORIZED',
      });
      const wrong = await post(exportJson(), {}, 'pha_not_a_token');
      expect(wrong).toMatchObject({ status: 401, json: { code: 'PHAROS_ERR_UNAUTHORIZED' } });
      expect(accepted).toEqual([]);
    });

    it('a token of another tenant cannot write as this tenant', async () => {
      const answer = await post(exportJson(), { 'x-pharos-tenant': 'acme' }, tokens.globex);
      expect(answer).toMatchObject({ status: 403, json: { code: 'PHAROS_ERR_FORBIDDEN' } });
      expect(accepted).toEqual([]);
    });

    it('the tenant comes from the token, whatever the payload claims', async () => {
      const body = JSON.stringify(
        backendRequest('f883faad099234562a1709a58b706623', '29bdada71d7f1fe9'),
      );
      const ownAnswer = await post(body, {}, tokens.acme);
      expect(ownAnswer.status).toBe(200);
      const [batch] = accepted;
      expect(batch?.tenantId).toBe('acme');
      const attributes = batch?.payload.traces?.resourceSpans?.[0]?.resource?.attributes ?? [];
      expect(attributes.filter((attribute) => attribute.key === 'pharos.tenant')).toEqual([
        { key: 'pharos.tenant', value: { stringValue: 'acme' } },
      ]);
      expect(attributes).toContainEqual({
        key: 'service.name',
        value: { stringValue: 'shop-api' },
      });
    });

    it('an admin token, or one for several tenants, names the tenant in X-Pharos-Tenant', async () => {
      expect((await post(exportJson(), { 'x-pharos-tenant': 'globex' }, tokens.admin)).status).toBe(
        200,
      );
      expect((await post(exportJson(), { 'x-pharos-tenant': 'acme' }, tokens.both)).status).toBe(
        200,
      );
      expect((await post(exportJson(), { 'x-pharos-tenant': 'acme' }, tokens.acme)).status).toBe(
        200,
      );
      expect(accepted.map((batch) => batch.tenantId)).toEqual(['globex', 'acme', 'acme']);

      for (const token of [tokens.admin, tokens.both]) {
        expect(await post(exportJson(), {}, token)).toMatchObject({
          status: 400,
          json: { code: 'PHAROS_ERR_INVALID_REQUEST' },
        });
      }
      expect(await post(exportJson(), {}, tokens.sourcemaps)).toMatchObject({
        status: 403,
        json: { code: 'PHAROS_ERR_FORBIDDEN' },
      });
      expect(
        await post(exportJson(), { 'x-pharos-tenant': 'initech' }, tokens.admin),
      ).toMatchObject({
        status: 404,
        json: { code: 'PHAROS_ERR_NOT_FOUND' },
      });
      expect(accepted).toHaveLength(3);
    });
  });

  describe('refuses bad input', () => {
    const spanWith = (fields: Record<string, unknown>) =>
      JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '1da0bbb53e72c2b51ab212d67a5954df',
                    spanId: 'fab2adf4b5c12ec0',
                    name: 'GET',
                    startTimeUnixNano: '1795573619172000000',
                    ...fields,
                  },
                ],
              },
            ],
          },
        ],
      });

    it.each([
      ['malformed JSON', '{"resourceSpans": [', 'PHAROS_ERR_JSON_INVALID', /invalid JSON/],
      ['a JSON array', '[]', 'PHAROS_ERR_PAYLOAD_INVALID', /^\(root\): expected object/],
      [
        'a short trace id',
        spanWith({ traceId: 'abc' }),
        'PHAROS_ERR_PAYLOAD_INVALID',
        /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected 32 hex/,
      ],
      ['a kind out of range', spanWith({ kind: 9 }), 'PHAROS_ERR_PAYLOAD_INVALID', /kind/],
      ['a __proto__ key', '{"__proto__": {"x": 1}}', 'PHAROS_ERR_JSON_FORBIDDEN_KEY', /__proto__/],
    ])('JSON with %s: 400', async (_what, body, code, message) => {
      const answer = await post(body);
      expect(answer).toMatchObject({ status: 400, json: { code } });
      expect(String(answer.json?.message)).toMatch(message);
      expect(accepted).toEqual([]);
    });

    it('malformed protobuf, and protobuf with ids of the wrong length: 400 PAYLOAD_INVALID', async () => {
      const truncated = exportProtobuf().subarray(0, 100);
      const garbage = await post(truncated, { 'content-type': 'application/x-protobuf' });
      expect(garbage).toMatchObject({ status: 400, json: { code: 'PHAROS_ERR_PAYLOAD_INVALID' } });
      expect(String(garbage.json?.message)).toMatch(/not a valid protobuf/);

      const shortId = referenceProtobuf(
        backendRequest('f883faad099234562a1709a58b7066', '29bdada71d7f1fe9'),
      );
      const answer = await post(shortId, { 'content-type': 'application/x-protobuf' });
      expect(answer).toMatchObject({ status: 400, json: { code: 'PHAROS_ERR_PAYLOAD_INVALID' } });
      expect(String(answer.json?.message)).toMatch(/traceId: expected 32 hex characters/);
      expect(accepted).toEqual([]);
    });

    it('other media types and codings: 415', async () => {
      for (const headers of [
        { 'content-type': 'text/plain' },
        { 'content-type': 'application/protobuf' },
        { 'content-encoding': 'br' },
      ]) {
        const answer = await post(exportJson(), headers);
        expect(answer.status).toBe(415);
        expect(String(answer.json?.code)).toMatch(/^PHAROS_ERR_UNSUPPORTED_(MEDIA_TYPE|ENCODING)$/);
      }
    });

    it('a declared length over the cap: 413 before the body is read, and the connection closes', async () => {
      const answer = await new Promise<{
        status: number;
        connection: string | undefined;
        code: string;
      }>((resolve, reject) => {
        const req = httpRequest(`${baseUrl}/v1/traces`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${tokens.acme}`,
            'content-type': 'application/x-protobuf',
            'content-length': String(MAX_BODY_BYTES * 100),
          },
        });
        req.on('response', (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              connection: response.headers.connection,
              code: (JSON.parse(text) as { code: string }).code,
            }),
          );
        });
        req.on('error', reject);
        // Headers only: a refusal must not wait for the 6 MB it announced.
        req.flushHeaders();
      });
      expect(answer).toEqual({
        status: 413,
        connection: 'close',
        code: 'PHAROS_ERR_BODY_TOO_LARGE',
      });
    });

    it('a gzip body that inflates past the cap: 413', async () => {
      const bomb = gzipSync(Buffer.alloc(MAX_BODY_BYTES * 50, 0x20));
      expect(bomb.length).toBeLessThan(MAX_BODY_BYTES);
      const answer = await post(bomb, { 'content-encoding': 'gzip' });
      expect(answer).toMatchObject({ status: 413, json: { code: 'PHAROS_ERR_BODY_TOO_LARGE' } });
    });

    it('more spans than ingest.maxItemsPerRequest: 413', async () => {
      const request = backendRequest('f883faad099234562a1709a58b706623', '29bdada71d7f1fe9');
      const scope = request.resourceSpans[0]?.scopeSpans[0];
      const [span] = scope?.spans ?? [];
      if (!scope || !span) throw new Error('no span');
      scope.spans = Array.from({ length: MAX_SPANS + 1 }, (_, index) => ({
        ...span,
        spanId: index.toString(16).padStart(16, '0'),
      }));
      const answer = await post(referenceProtobuf(request), {
        'content-type': 'application/x-protobuf',
      });
      expect(answer).toMatchObject({
        status: 413,
        json: { code: 'PHAROS_ERR_PAYLOAD_TOO_MANY_ITEMS' },
      });
    });

    it('a full sink: 503 with Retry-After, as the fan-out says', async () => {
      acceptHook = () => {
        throw new PharosError('OVERLOADED', 'the traces sink of this tenant is full; retry later', {
          retryAfterSeconds: 5,
        });
      };
      const answer = await post(exportJson());
      expect(answer).toMatchObject({ status: 503, json: { code: 'PHAROS_ERR_OVERLOADED' } });
      expect(answer.headers['retry-after']).toBe('5');
    });
  });

  describe('a backend span joins the browser’s trace', () => {
    let receiver: OtlpReceiver;
    beforeAll(async () => {
      receiver = await startOtlpReceiver();
    });
    afterAll(() => receiver.close());

    it('the server span of fixture 11’s fetch reaches the traces sink with the browser’s span', async () => {
      const browserPayload = fixturePayload(CLICK_FETCH_FIXTURE);
      const [fetchSpan] = spansOf(browserPayload.traces?.resourceSpans);
      if (!fetchSpan) throw new Error('fixture 11 has no span');

      const body = referenceProtobuf(backendRequest(fetchSpan.traceId, fetchSpan.spanId));
      expect((await post(body, { 'content-type': 'application/x-protobuf' })).status).toBe(200);
      const [backendBatch] = accepted;
      if (!backendBatch) throw new Error('nothing was handed on');
      expect(backendBatch.tenantId).toBe('acme');
      const [backendSpan] = spansOf(backendBatch.payload.traces?.resourceSpans);
      expect(backendSpan).toMatchObject({
        traceId: fetchSpan.traceId,
        parentSpanId: fetchSpan.spanId,
        kind: 2,
        startTimeUnixNano: '1795573543525000000',
      });

      // The lead wires accept() to the fan-out; here the traces protocol takes both batches.
      const sink = createTracesProtocol({ url: receiver.url, orgId: 'acme' });
      const units = [
        sink.select(batchOf(browserPayload, { appId: 'capture-app' })),
        sink.select(backendBatch),
      ];
      expect(
        await sink.send(
          units.map((unit) => {
            if (!unit) throw new Error('select found no spans');
            return unit.value;
          }),
          new AbortController().signal,
        ),
      ).toEqual({ status: 'delivered' });

      const spans = await receiver.waitForSpans(2);
      expect(receiver.errors).toEqual([]);
      const browser = spans.find((span) => span.kind === 3);
      const backend = spans.find((span) => span.kind === 2);
      expect(backend?.traceId).toBe(browser?.traceId);
      expect(backend?.parentSpanId).toBe(browser?.spanId);
      expect(backend && stringAttribute(backend, 'service.name')).toBe('shop-api');
      expect(browser && stringAttribute(browser, 'service.name')).toBe('capture-app');
      for (const span of [browser, backend])
        expect(span && stringAttribute(span, 'pharos.tenant')).toBe('acme');
      expect(backend?.events).toEqual([
        {
          timeUnixNano: '1795573543530000000',
          name: 'db.query',
          attributes: [{ key: 'db.rows', value: { intValue: '3' } }],
          droppedAttributesCount: 0,
        },
      ]);
      expect(backend?.status).toEqual({ code: 1, message: '' });
      expect(receiver.accepted[0]?.headers['x-scope-orgid']).toBe('acme');
    });
  });
});
