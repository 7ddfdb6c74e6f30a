import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureJson } from '../helpers/fixtures.js';
import {
  ReferenceExportTraceServiceRequest,
  startOtlpReceiver,
  type OtlpReceiver,
} from '../helpers/otlp-receiver.js';
import { OTLP_EXPORT_FIXTURE, PLAIN_FETCH_FIXTURE } from './support.js';

/**
 * The strict receiver is what the sink tests trust; these prove it refuses what a real OTLP
 * endpoint would, so a sink that sends the wrong thing cannot pass.
 */
describe('the strict OTLP receiver (test helper)', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => receiver.reset());
  afterAll(() => receiver.close());

  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${receiver.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const request = (span: Record<string, unknown>) =>
    JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
  const span = {
    traceId: 'f883faad099234562a1709a58b706623',
    spanId: '29bdada71d7f1fe9',
    name: 'GET',
    kind: 3,
    startTimeUnixNano: '1795573543520000000',
    endTimeUnixNano: '1795573543543000000',
    flags: 257,
  };

  it('accepts real OTLP/JSON and reference-encoded protobuf, reading the flags of both', async () => {
    const fixture = readFixtureJson(OTLP_EXPORT_FIXTURE);
    expect((await post(JSON.stringify(fixture))).status).toBe(200);
    expect((await post(request(span))).status).toBe(200);
    const protobuf = ReferenceExportTraceServiceRequest.encode(
      ReferenceExportTraceServiceRequest.fromObject({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    ...span,
                    traceId: Buffer.from(span.traceId, 'hex'),
                    spanId: Buffer.from(span.spanId, 'hex'),
                  },
                ],
              },
            ],
          },
        ],
      }),
    ).finish();
    const answer = await post(gzipSync(protobuf), {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/x-protobuf');
    expect(receiver.errors).toEqual([]);
    const spans = receiver.spans();
    expect(spans.at(-2)?.flags).toBe(257);
    // The reference encoder does not know Span.flags: the protobuf span has none.
    expect(spans.at(-1)).toMatchObject({
      flags: 0,
      traceId: span.traceId,
      startTimeUnixNano: span.startTimeUnixNano,
    });
  });

  it.each([
    ['snake_case keys', request({ ...span, trace_id: span.traceId })],
    ['an unknown field', request({ ...span, colour: 'red' })],
    [
      'a base64 trace id',
      request({ ...span, traceId: Buffer.from(span.traceId, 'hex').toString('base64') }),
    ],
    ['a short span id', request({ ...span, spanId: '29bdada7' })],
    ['an enum by name', request({ ...span, kind: 'SPAN_KIND_CLIENT' })],
    ['nanos as an unsafe number', request({ ...span, startTimeUnixNano: 1795573543520000000 })],
    ['nanos out of range', request({ ...span, endTimeUnixNano: '18446744073709551616' })],
    ['flags as a string', request({ ...span, flags: '257' })],
    [
      'two AnyValue members',
      request({ ...span, attributes: [{ key: 'a', value: { stringValue: 'x', intValue: '1' } }] }),
    ],
    [
      'an int64 attribute out of range',
      request({ ...span, attributes: [{ key: 'a', value: { intValue: '9223372036854775808' } }] }),
    ],
    ['a null field', request({ ...span, status: null })],
  ])('refuses JSON with %s', async (_what, body) => {
    expect((await post(body)).status).toBe(400);
    expect(receiver.errors).toHaveLength(1);
    expect(receiver.spans()).toEqual([]);
  });

  it('refuses malformed protobuf, other media types and other paths', async () => {
    expect(
      (await post(Buffer.from([0x0a, 0xff, 0x01]), { 'content-type': 'application/x-protobuf' }))
        .status,
    ).toBe(400);
    expect((await post(request(span), { 'content-type': 'text/plain' })).status).toBe(415);
    const wrongPath = await fetch(`${receiver.url}/v1/logs`, { method: 'POST', body: '{}' });
    expect(wrongPath.status).toBe(404);
    expect(receiver.errors).toHaveLength(3);
  });

  it('waits for spans, and answers as scripted', async () => {
    const fixture = readFixtureJson(PLAIN_FETCH_FIXTURE);
    receiver.respondWith({ status: 503, headers: { 'retry-after': '3' } });
    const refused = await post(JSON.stringify(fixture.traces));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('3');
    const waiting = receiver.waitForSpans(1, 2000);
    expect((await post(JSON.stringify(fixture.traces))).status).toBe(200);
    expect(await waiting).toHaveLength(1);
    expect(receiver.attempts.map((attempt) => attempt.answeredWith)).toEqual([503, 200]);
    await expect(receiver.waitForSpans(2, 100)).rejects.toThrow(/waited/);
  });
});
