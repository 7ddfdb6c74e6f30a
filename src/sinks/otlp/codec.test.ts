import { describe, expect, it } from 'vitest';
import { isPharosError } from '../../errors/index.js';
import type { OtlpResourceSpans } from '../../model/index.js';
import {
  SPANS_PER_SLICE,
  decodeProtobufTraceRequest,
  encodeTraceRequest,
  encodeTraceRequestInSlices,
  failureMessage,
  readPartialSuccess,
} from './codec.js';
import { mergeResourceSpans } from './merge.js';
import { ExportTraceServiceResponse, RpcStatus } from './proto.js';

const span = {
  traceId: 'f883faad099234562a1709a58b706623',
  spanId: '29bdada71d7f1fe9',
  parentSpanId: '1111111111111111',
  traceState: 'vendor=1',
  name: 'GET',
  kind: 3,
  startTimeUnixNano: '1795573543520000001',
  endTimeUnixNano: 1795573543543,
  flags: 257,
  attributes: [
    { key: 's', value: { stringValue: 'x' } },
    { key: 'b', value: { boolValue: false } },
    { key: 'i', value: { intValue: -7 } },
    { key: 'd', value: { doubleValue: 0.25 } },
    { key: 'raw', value: { bytesValue: 'AQID' } },
    { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } },
    { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
    { key: 'empty', value: {} },
  ],
  events: [{ timeUnixNano: '1795573543530000000', name: 'e', attributes: [] }],
  links: [
    { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', attributes: [] },
  ],
  status: { code: 2, message: 'boom' },
};
const request: OtlpResourceSpans[] = [
  {
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
    scopeSpans: [{ scope: { name: 'lib', version: '1' }, spans: [span] }],
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  },
];

/** A length-delimited protobuf field, written by hand so the test does not trust the encoder. */
function field(number: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((number << 3) | 2), varint(payload.length), payload]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

describe('OTLP traces codec', () => {
  it('protobuf → OTLP/JSON gives back every field, in the canonical form', () => {
    const decoded = decodeProtobufTraceRequest(encodeTraceRequest(request, 'protobuf'));
    expect(decoded.resourceSpans).toEqual([
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
        scopeSpans: [
          {
            scope: { name: 'lib', version: '1' },
            spans: [
              {
                ...span,
                endTimeUnixNano: '1795573543543',
                attributes: span.attributes.map((attribute) =>
                  attribute.key === 'i'
                    ? { key: 'i', value: { intValue: '-7' } }
                    : attribute.key === 'list'
                      ? {
                          key: 'list',
                          value: {
                            arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] },
                          },
                        }
                      : attribute,
                ),
              },
            ],
          },
        ],
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      },
    ]);
  });

  it('the JSON encoding is the same canonical form', () => {
    const json = JSON.parse(encodeTraceRequest(request, 'json').toString()) as unknown;
    expect(json).toEqual({
      resourceSpans: decodeProtobufTraceRequest(encodeTraceRequest(request, 'protobuf'))
        .resourceSpans,
    });
  });

  it('refuses malformed protobuf and nesting bombs with PAYLOAD_INVALID', () => {
    const valid = encodeTraceRequest(request, 'protobuf');
    // An attribute whose AnyValue nests 150 deep (array_value → values → array_value …).
    let anyValue: Buffer = Buffer.alloc(0);
    for (let depth = 0; depth < 150; depth++) anyValue = field(5, field(1, anyValue));
    const attribute = Buffer.concat([field(1, Buffer.from('k')), field(2, anyValue)]);
    const spanBytes = Buffer.concat([
      field(1, Buffer.alloc(16, 1)),
      field(2, Buffer.alloc(8, 2)),
      field(9, attribute),
    ]);
    const bomb = field(1, field(2, field(2, spanBytes)));
    expect(() => decodeProtobufTraceRequest(bomb)).toThrow(/max depth/);
    for (const body of [
      valid.subarray(0, valid.length - 3),
      Buffer.from([0x0a, 0x05, 0x01]),
      bomb,
    ]) {
      let caught: unknown;
      try {
        decodeProtobufTraceRequest(body);
      } catch (error) {
        caught = error;
      }
      expect(isPharosError(caught) && caught.code).toBe('PHAROS_ERR_PAYLOAD_INVALID');
    }
  });

  it('reads partial success and failure messages in both encodings', () => {
    const protobuf = Buffer.from(
      ExportTraceServiceResponse.encode({
        partialSuccess: {
          rejectedSpans: { low: 3, high: 0, unsigned: false },
          errorMessage: 'old',
        },
      }).finish(),
    );
    expect(readPartialSuccess(protobuf, 'application/x-protobuf')).toEqual({
      rejectedSpans: 3,
      errorMessage: 'old',
    });
    expect(
      readPartialSuccess(
        Buffer.from('{"partialSuccess":{"rejectedSpans":"2"}}'),
        'application/json',
      ),
    ).toEqual({ rejectedSpans: 2, errorMessage: '' });
    expect(readPartialSuccess(Buffer.from('{}'), 'application/json')).toBeUndefined();
    expect(readPartialSuccess(Buffer.alloc(0), 'application/x-protobuf')).toBeUndefined();
    expect(readPartialSuccess(Buffer.from('<html>'), 'text/html')).toBeUndefined();

    const status = Buffer.from(RpcStatus.encode({ code: 3, message: 'bad span' }).finish());
    expect(failureMessage(status, 'application/x-protobuf')).toBe('bad span');
    expect(failureMessage(Buffer.from('{"message":"bad"}'), 'application/json')).toBe('bad');
    expect(failureMessage(Buffer.from('upstream down'), 'text/plain')).toBe('upstream down');
  });

  it('merges units that share a resource and a scope, without touching them', () => {
    const unit = { resourceSpans: structuredClone(request) };
    const other = {
      resourceSpans: [
        { ...structuredClone(request[0]), resource: { attributes: [] } },
      ] as OtlpResourceSpans[],
    };
    const before = structuredClone([unit, other]);
    const merged = mergeResourceSpans([unit, unit, other]);
    expect(merged).toHaveLength(2);
    expect(merged[0]?.scopeSpans).toHaveLength(1);
    expect(merged[0]?.scopeSpans?.[0]?.spans).toHaveLength(2);
    expect(merged[1]?.scopeSpans?.[0]?.spans).toHaveLength(1);
    expect([unit, other]).toEqual(before);
  });

  describe('encoded in slices', () => {
    /** Two resources, the second with more spans than a slice, in two scopes. */
    const spansOf = (count: number, prefix: string) =>
      Array.from({ length: count }, (_, index) => ({
        ...span,
        spanId: `${prefix}${index.toString(16).padStart(14, '0')}`,
      }));
    const large: OtlpResourceSpans[] = [
      request[0]!,
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'web' } }] },
        scopeSpans: [
          { scope: { name: 'fetch' }, spans: spansOf(SPANS_PER_SLICE + 50, 'aa') },
          { scope: { name: 'xhr' }, spans: spansOf(SPANS_PER_SLICE * 2, 'bb') },
        ],
      },
    ];
    const countYields = () => {
      let count = 0;
      return { yields: () => count, yieldToEventLoop: () => (count++, Promise.resolve()) };
    };

    it('makes exactly the bytes of one piece when no entry needs cutting', async () => {
      const few = [request[0]!, { ...request[0]!, schemaUrl: '' }];
      for (const encoding of ['protobuf', 'json'] as const)
        expect(await encodeTraceRequestInSlices(few, encoding)).toEqual(
          encodeTraceRequest(few, encoding),
        );
    });

    it('carries the same spans, resources and scopes as one piece, yielding between slices', async () => {
      const whole = decodeProtobufTraceRequest(encodeTraceRequest(large, 'protobuf'));
      const counter = countYields();
      const sliced = decodeProtobufTraceRequest(
        await encodeTraceRequestInSlices(large, 'protobuf', counter.yieldToEventLoop),
      );
      // 651 spans, at most 200 a slice: 1, then 200, 50, 200 and 200 of the second resource.
      expect(counter.yields()).toBe(4);
      expect(mergeResourceSpans([sliced])).toEqual(whole.resourceSpans);
      const json = JSON.parse(
        (await encodeTraceRequestInSlices(large, 'json')).toString(),
      ) as typeof sliced;
      expect(mergeResourceSpans([json])).toEqual(whole.resourceSpans);
    });
  });
});
