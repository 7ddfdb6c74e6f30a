import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureJson } from '../helpers/fixtures.js';
import {
  FIXTURE_APP,
  fixtureTenantConfig,
  startTestPharos,
  type TestPharos,
} from '../helpers/pharos.js';

const LIMIT = 256 * 1024;
const valid = readFixtureJson('02-main-console--log_info+log_warn+exc_Error.json');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const withPayload = (patch: Record<string, unknown>) => json({ ...valid, ...patch });

interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  status: number;
  code: string;
  message?: RegExp;
}

const path = `/collect/${FIXTURE_APP.key}`;
const jsonHeaders = { 'content-type': 'application/json' };

/** A body sent with Transfer-Encoding: chunked (no Content-Length), `total` bytes in all. */
function chunked(total: number): Readable {
  const chunk = Buffer.alloc(16 * 1024, 0x20);
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
    })(),
  );
}

const cases: Case[] = [
  {
    name: 'an unknown app key',
    path: '/collect/not-a-key-000000',
    headers: jsonHeaders,
    body: json(valid),
    status: 401,
    code: 'PHAROS_ERR_APP_KEY_INVALID',
  },
  {
    name: 'no key at all',
    path: '/collect',
    headers: jsonHeaders,
    body: json(valid),
    status: 401,
    code: 'PHAROS_ERR_APP_KEY_MISSING',
  },
  {
    name: 'an unknown x-api-key on /collect',
    path: '/collect',
    headers: { ...jsonHeaders, 'x-api-key': 'nope-nope-nope' },
    body: json(valid),
    status: 401,
    code: 'PHAROS_ERR_APP_KEY_INVALID',
  },
  {
    name: 'a wrong method',
    method: 'PUT',
    headers: jsonHeaders,
    body: json(valid),
    status: 405,
    code: 'PHAROS_ERR_METHOD_NOT_ALLOWED',
  },
  {
    name: 'GET on the ingest route',
    method: 'GET',
    status: 405,
    code: 'PHAROS_ERR_METHOD_NOT_ALLOWED',
  },
  {
    name: 'an unknown route',
    path: '/v1/logs',
    headers: jsonHeaders,
    body: json(valid),
    status: 404,
    code: 'PHAROS_ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'a key path with extra segments',
    path: `${path}/extra`,
    headers: jsonHeaders,
    body: json(valid),
    status: 404,
    code: 'PHAROS_ERR_ROUTE_NOT_FOUND',
  },
  {
    name: 'a disallowed browser origin',
    headers: { ...jsonHeaders, origin: 'https://evil.example' },
    body: json(valid),
    status: 403,
    code: 'PHAROS_ERR_ORIGIN_NOT_ALLOWED',
  },
  {
    name: 'a form content type',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: json(valid),
    status: 415,
    code: 'PHAROS_ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'no content type',
    headers: {},
    body: json(valid),
    status: 415,
    code: 'PHAROS_ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'brotli encoding',
    headers: { ...jsonHeaders, 'content-encoding': 'br' },
    body: json(valid),
    status: 415,
    code: 'PHAROS_ERR_UNSUPPORTED_ENCODING',
  },
  {
    name: 'an empty body',
    headers: jsonHeaders,
    body: '',
    status: 400,
    code: 'PHAROS_ERR_BODY_EMPTY',
  },
  {
    name: 'truncated JSON',
    headers: jsonHeaders,
    body: json(valid).subarray(0, 300),
    status: 400,
    code: 'PHAROS_ERR_JSON_INVALID',
  },
  {
    name: 'JSON that is an array',
    headers: jsonHeaders,
    body: '[{"logs":[]}]',
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message: /^\(root\): expected object, got array$/,
  },
  {
    name: 'JSON that is a string',
    headers: jsonHeaders,
    body: '"hello"',
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message: /^\(root\): expected object, got string$/,
  },
  {
    name: 'JSON null',
    headers: jsonHeaders,
    body: 'null',
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message: /^\(root\): expected object, got null$/,
  },
  {
    name: 'logs that is not an array',
    headers: jsonHeaders,
    body: withPayload({ logs: { message: 'x' } }),
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message: /^logs: expected array, got object$/,
  },
  {
    name: 'a web vital that is a string (depth 4)',
    headers: jsonHeaders,
    body: withPayload({
      measurements: [
        { type: 'web-vitals', values: { lcp: '2500' }, timestamp: '2026-11-25T02:25:37.598Z' },
      ],
    }),
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message: /^measurements\[0\]\.values\.lcp: expected number, got string$/,
  },
  {
    name: 'a frame line number that is a string (depth 6)',
    headers: jsonHeaders,
    body: withPayload({
      exceptions: [
        {
          type: 'Error',
          value: 'x',
          stacktrace: { frames: [{ filename: 'a.js' }, { filename: 'b.js', lineno: '12' }] },
        },
      ],
    }),
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message: /^exceptions\[0\]\.stacktrace\.frames\[1\]\.lineno: expected integer, got string$/,
  },
  {
    name: 'browser.mobile that is a string (meta, depth 3)',
    headers: jsonHeaders,
    body: json({ ...valid, meta: { ...valid.meta, browser: { mobile: 'no' } } }),
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message: /^meta\.browser\.mobile: expected boolean, got string$/,
  },
  {
    name: 'an event without a name',
    headers: jsonHeaders,
    body: withPayload({ events: [{ attributes: { a: 'b' } }] }),
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message: /^events\[0\]\.name: required$/,
  },
  {
    name: 'a malformed span trace id (depth 8)',
    headers: jsonHeaders,
    body: withPayload({
      traces: {
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: 'xyz',
                    spanId: '0123456789abcdef',
                    name: 'GET',
                    startTimeUnixNano: '1',
                  },
                ],
              },
            ],
          },
        ],
      },
    }),
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message:
      /^traces\.resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected 32 hex characters, got "xyz"$/,
  },
  {
    name: 'a timestamp that is not RFC 3339',
    headers: jsonHeaders,
    body: withPayload({ logs: [{ message: 'x', timestamp: 'yesterday' }] }),
    status: 400,
    code: 'PHAROS_ERR_PAYLOAD_INVALID',
    message: /^logs\[0\]\.timestamp: expected an RFC 3339 date-time/,
  },
  {
    name: 'a __proto__ key at the top',
    headers: jsonHeaders,
    body: '{"__proto__":{"polluted":true},"logs":[]}',
    status: 400,
    code: 'PHAROS_ERR_JSON_FORBIDDEN_KEY',
  },
  {
    name: 'a __proto__ key inside a context',
    headers: jsonHeaders,
    body: '{"logs":[{"message":"x","context":{"__proto__":{"isAdmin":"true"}}}]}',
    status: 400,
    code: 'PHAROS_ERR_JSON_FORBIDDEN_KEY',
  },
  {
    name: 'an escaped \\u005f_proto__ key',
    headers: jsonHeaders,
    body: '{"\\u005f_proto__":{"polluted":true}}',
    status: 400,
    code: 'PHAROS_ERR_JSON_FORBIDDEN_KEY',
  },
  {
    name: 'a constructor.prototype key',
    headers: jsonHeaders,
    body: '{"meta":{"constructor":{"prototype":{"polluted":true}}}}',
    status: 400,
    code: 'PHAROS_ERR_JSON_FORBIDDEN_KEY',
  },
  {
    name: '10,000-deep nesting',
    headers: jsonHeaders,
    body: `{"meta":{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`,
    status: 400,
    code: 'PHAROS_ERR_JSON_TOO_DEEP',
  },
  {
    name: 'an oversize body with Content-Length',
    headers: jsonHeaders,
    body: Buffer.alloc(LIMIT + 1, 0x20),
    status: 413,
    code: 'PHAROS_ERR_BODY_TOO_LARGE',
    message: /^Content-Length \d+ exceeds the 256 KiB limit$/,
  },
  {
    name: 'an oversize body without Content-Length (chunked)',
    headers: jsonHeaders,
    body: chunked(LIMIT * 4),
    status: 413,
    code: 'PHAROS_ERR_BODY_TOO_LARGE',
    message: /^body exceeds the 256 KiB limit$/,
  },
  {
    name: 'a gzip bomb (tiny compressed, 64 MiB inflated)',
    headers: { ...jsonHeaders, 'content-encoding': 'gzip' },
    body: gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)),
    status: 413,
    code: 'PHAROS_ERR_BODY_TOO_LARGE',
  },
  {
    name: 'invalid gzip',
    headers: { ...jsonHeaders, 'content-encoding': 'gzip' },
    body: json(valid),
    status: 400,
    code: 'PHAROS_ERR_BODY_DECOMPRESSION_FAILED',
  },
  {
    name: 'truncated gzip',
    headers: { ...jsonHeaders, 'content-encoding': 'gzip' },
    body: gzipSync(json(valid)).subarray(0, 200),
    status: 400,
    code: 'PHAROS_ERR_BODY_DECOMPRESSION_FAILED',
  },
  {
    name: 'invalid UTF-8',
    headers: jsonHeaders,
    body: Buffer.concat([
      Buffer.from('{"logs":[{"message":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}]}'),
    ]),
    status: 400,
    code: 'PHAROS_ERR_BODY_INVALID_UTF8',
  },
  {
    name: 'too many items',
    headers: jsonHeaders,
    body: json({ events: Array.from({ length: 101 }, (_, i) => ({ name: `e${i}` })) }),
    status: 413,
    code: 'PHAROS_ERR_PAYLOAD_TOO_MANY_ITEMS',
  },
];

describe('bad input: a precise 4xx with an error code, and nothing stored', () => {
  let pharos: TestPharos;

  beforeAll(async () => {
    pharos = await startTestPharos({
      ...fixtureTenantConfig(),
      ingest: {
        maxBodyBytes: LIMIT,
        maxItemsPerRequest: 100,
        bodyTimeout: '1s',
        headersTimeout: '1s',
      },
    });
  });
  afterAll(() => pharos.stop());

  it.each(cases)('$name → $status $code', async (testCase) => {
    const response = await request(`${pharos.publicUrl}${testCase.path ?? path}`, {
      method: (testCase.method ?? 'POST') as 'POST',
      headers: testCase.headers ?? {},
      body: testCase.body ?? null,
    });
    const text = await response.body.text();
    expect(response.statusCode, text).toBe(testCase.status);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(text) as {
      statusCode: number;
      code: string;
      error: string;
      message: string;
    };
    expect(body.statusCode).toBe(testCase.status);
    expect(body.code).toBe(testCase.code);
    expect(typeof body.error).toBe('string');
    if (testCase.message) expect(body.message).toMatch(testCase.message);
    if (testCase.status === 405) expect(response.headers.allow).toBe('POST, OPTIONS');
  });

  it('refuses an unknown key before reading any of the body', async () => {
    // Headers promise a body that never comes: the answer must not wait for it.
    const answer = await rawExchange(
      pharos.publicUrl,
      `POST /collect/not-a-key-000000 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toContain('PHAROS_ERR_APP_KEY_INVALID');
  });

  it('refuses a declared oversize body before reading it', async () => {
    const answer = await rawExchange(
      pharos.publicUrl,
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${LIMIT * 10}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('answers 408 to a client that stops sending its body (slowloris)', async () => {
    const answer = await rawExchange(
      pharos.publicUrl,
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"logs":[`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('PHAROS_ERR_BODY_TIMEOUT');
  });

  it('stored nothing from any of the bad requests', async () => {
    await pharos.flush();
    expect(pharos.store?.counts()).toEqual({});
    const metrics = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/pharos_items_received_total\{/);
  });

  it('still accepts a good request afterwards', async () => {
    const response = await request(`${pharos.publicUrl}${path}`, {
      method: 'POST',
      headers: jsonHeaders,
      body: json(valid),
    });
    expect(response.statusCode).toBe(202);
    await response.body.dump();
  });
});

/** Writes raw bytes and returns whatever the server answers before it closes or 5 s pass. */
function rawExchange(baseUrl: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let answer = '';
    const done = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (/\r\n\r\n[\s\S]*\}$/.test(answer)) done();
    });
    socket.on('end', done);
    socket.on('error', (error) => (answer ? done() : reject(error)));
    setTimeout(done, 5000);
  });
}
