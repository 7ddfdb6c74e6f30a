import { gzipSync } from 'node:zlib';
import { compressSync, uncompressSync } from 'snappy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLokiReceiver, type LokiReceiver } from '../../../test/helpers/loki-receiver.js';
import { encodePushJson, encodePushJsonText } from './push-json.js';
import { compress as snappyjsCompress } from 'snappyjs';
import {
  ENTRIES_PER_SLICE,
  compressInSlices,
  decodeEntries,
  encodeEntries,
  encodePushProtobuf,
  encodePushRequest,
  encodePushRequestInSlices,
} from './push-protobuf.js';
import { groupStreams, streamEntries, type PushStream } from './push-streams.js';
import { unitOfEntries, type LabelPairs, type LokiEntry, type LokiUnit } from './unit.js';

/** The push stream of these entries alone. */
const pushStream = (labels: LabelPairs, key: string, entries: LokiEntry[]): PushStream =>
  groupStreams([unitOfEntries([{ labels, key, entries }])])[0]!;

/**
 * Both push encodings, decoded by the strict receiver (an independent decoder: protobufjs
 * reflection on a schema written from push.proto, and JSON.parse), with every field checked.
 */

const UNIT_A: LokiUnit = unitOfEntries([
  {
    labels: [
      ['app_name', 'shop'],
      ['kind', 'log'],
    ],
    key: '{app_name="shop", kind="log"}',
    entries: [
      {
        seconds: 1_795_573_537,
        nanos: 597_000_000,
        line: 'timestamp="2026-11-25 02:25:37.597 +0000 UTC" kind=log message=hi',
        metadata: [
          ['session_id', '69tcByp4Jx'],
          ['app_id', 'app-1'],
        ],
      },
      { seconds: 1_795_573_537, nanos: 597_000_001, line: 'second é 😀 "quoted"\n' },
    ],
  },
  {
    labels: [
      ['app_name', 'say "hi"\\ \n'],
      ['kind', 'exception'],
    ],
    key: '{app_name="say \\"hi\\"\\\\ \\n", kind="exception"}',
    entries: [{ seconds: 1_795_573_537, nanos: 0, line: 'x'.repeat(300) }],
  },
]);
const UNIT_B: LokiUnit = unitOfEntries([
  {
    labels: [
      ['app_name', 'shop'],
      ['kind', 'log'],
    ],
    key: '{app_name="shop", kind="log"}',
    entries: [{ seconds: 1_795_573_538, nanos: 5, line: 'third', metadata: [['trace_id', 't']] }],
  },
]);

const NS = (seconds: number, nanos: number): bigint =>
  BigInt(seconds) * 1_000_000_000n + BigInt(nanos);

/** What the receiver must have recorded for UNIT_A then UNIT_B, in one push. */
const EXPECTED_STREAMS = (withMetadata: boolean) => [
  {
    labels: { app_name: 'shop', kind: 'log' },
    entries: [
      {
        timestamp: NS(1_795_573_537, 597_000_000),
        line: 'timestamp="2026-11-25 02:25:37.597 +0000 UTC" kind=log message=hi',
        metadata: withMetadata ? { session_id: '69tcByp4Jx', app_id: 'app-1' } : {},
      },
      { timestamp: NS(1_795_573_537, 597_000_001), line: 'second é 😀 "quoted"\n', metadata: {} },
      {
        timestamp: NS(1_795_573_538, 5),
        line: 'third',
        metadata: withMetadata ? { trace_id: 't' } : {},
      },
    ],
  },
  {
    labels: { app_name: 'say "hi"\\ \n', kind: 'exception' },
    entries: [{ timestamp: NS(1_795_573_537, 0), line: 'x'.repeat(300), metadata: {} }],
  },
];

let receiver: LokiReceiver;
beforeAll(async () => {
  receiver = await startLokiReceiver();
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(() => {
  receiver.reset();
});

async function post(body: Buffer, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${receiver.url}/loki/api/v1/push`, {
    method: 'POST',
    body,
    headers: { 'x-scope-orgid': 'tenant-1', ...headers },
  });
  await response.arrayBuffer();
  return response.status;
}

describe('groupStreams', () => {
  it('merges units into one stream per label set, keeping entry order', () => {
    const streams = groupStreams([UNIT_A, UNIT_B]);
    expect(
      streams.map((stream) => [stream.key, streamEntries(stream).map((entry) => entry.nanos)]),
    ).toEqual([
      ['{app_name="shop", kind="log"}', [597_000_000, 597_000_001, 5]],
      ['{app_name="say \\"hi\\"\\\\ \\n", kind="exception"}', [0]],
    ]);
  });

  it('sorts a stream by time (stably) only when it is out of order', () => {
    const unit = (seconds: number, line: string): LokiUnit =>
      unitOfEntries([
        { labels: [['kind', 'log']], key: '{kind="log"}', entries: [{ seconds, nanos: 0, line }] },
      ]);
    const inOrder = groupStreams([unit(3, 'a'), unit(3, 'b'), unit(4, 'c')]);
    expect(inOrder[0]?.inOrder).toBe(true);
    const streams = groupStreams([unit(5, 'a'), unit(3, 'b'), unit(5, 'c'), unit(4, 'd')]);
    expect(streams[0]?.inOrder).toBe(false);
    expect(streamEntries(streams[0]!).map((entry) => entry.line)).toEqual(['b', 'd', 'a', 'c']);
  });

  it('is empty for no units', () => {
    expect(groupStreams([])).toEqual([]);
  });
});

describe('entries as units hold them', () => {
  const entries: LokiEntry[] = [
    { seconds: 1_795_573_537, nanos: 597_000_000, line: 'a "b"\n\u0000 é 😀' },
    { seconds: 0, nanos: 0, line: '', metadata: [['', '']] },
    { seconds: -1, nanos: 999_999_999, line: 'before 1970', metadata: [['trace_id', 't']] },
    {
      seconds: 2 ** 40,
      nanos: 1,
      line: 'x'.repeat(70_000),
      metadata: [
        ['a', 'b'],
        ['c', 'd'],
      ],
    },
  ];

  it('decode to exactly the entries encoded', () => {
    expect(decodeEntries(encodeEntries(entries, true))).toEqual(entries);
    expect(decodeEntries(encodeEntries([], true))).toEqual([]);
  });

  it('refuse damaged bytes rather than decode something else', () => {
    const encoded = encodeEntries(entries, true);
    expect(() => decodeEntries(encoded.subarray(0, encoded.length - 1))).toThrow(/Loki entries/);
    expect(() => decodeEntries(Buffer.from([0x0a, 0x00]))).toThrow(/field tag 10/);
    expect(() => decodeEntries(Buffer.from([0x12, 0x02, 0x22, 0x00]))).toThrow(/entry field tag/);
  });

  it('go into a push as they are when in order with metadata, the same bytes as encoding anew', () => {
    const streams = groupStreams([UNIT_A, UNIT_B]);
    expect(streams.every((stream) => stream.inOrder)).toBe(true);
    // Marked out of order, a stream is decoded, sorted (a no-op here) and encoded anew.
    const anew = encodePushRequest(
      streams.map((stream) => ({ ...stream, inOrder: false })),
      true,
    );
    expect(encodePushRequest(streams, true).equals(anew)).toBe(true);
  });
});

describe('protobuf + snappy push', () => {
  it('is decoded by the strict receiver with every field intact', async () => {
    const body = await encodePushProtobuf(groupStreams([UNIT_A, UNIT_B]), true);
    expect(await post(body, { 'content-type': 'application/x-protobuf' })).toBe(204);
    expect(receiver.violations).toEqual([]);
    const [push] = receiver.pushes;
    expect(push?.encoding).toBe('protobuf');
    expect(push?.orgId).toBe('tenant-1');
    expect(push?.streams.map(({ labels, entries }) => ({ labels, entries }))).toEqual(
      EXPECTED_STREAMS(true),
    );
    expect(push?.streams.map((stream) => stream.labelsText)).toEqual([
      '{app_name="shop", kind="log"}',
      '{app_name="say \\"hi\\"\\\\ \\n", kind="exception"}',
    ]);
  });

  it('leaves structured metadata out when asked', async () => {
    const body = await encodePushProtobuf(groupStreams([UNIT_A, UNIT_B]), false);
    expect(await post(body, { 'content-type': 'application/x-protobuf' })).toBe(204);
    expect(receiver.pushes[0]?.streams.map(({ labels, entries }) => ({ labels, entries }))).toEqual(
      EXPECTED_STREAMS(false),
    );
  });

  it('writes the exact protobuf bytes for a minimal request', () => {
    const stream = pushStream([['a', 'b']], '{a="b"}', [
      { seconds: 1, nanos: 2, line: 'hi', metadata: [['n', 'v']] },
    ]);
    // streams=1 { labels=1 "{a=\"b\"}", entries=2 { timestamp=1 {1:1, 2:2}, line=2 "hi", sm=3 {1:"n", 2:"v"} } }
    expect(encodePushRequest([stream], true).toString('hex')).toBe(
      [
        '0a1d', // PushRequest.streams (field 1, bytes), 29 bytes
        '0a07' + Buffer.from('{a="b"}').toString('hex'), // StreamAdapter.labels
        '1212', // StreamAdapter.entries (field 2), 18 bytes
        '0a04' + '0801' + '1002', // EntryAdapter.timestamp {seconds 1, nanos 2}
        '1202' + Buffer.from('hi').toString('hex'), // EntryAdapter.line
        '1a06' + '0a016e' + '120176', // EntryAdapter.structuredMetadata {name "n", value "v"}
      ].join(''),
    );
  });

  it('encodes multi-byte varints and large pushes correctly', async () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({
      seconds: 1_795_573_537 + Math.floor(i / 1000),
      nanos: (i % 1000) * 1_000_000 + 999_999,
      line: `line ${i} ${'é'.repeat(i % 200)}`,
    }));
    const big = unitOfEntries([{ labels: [['kind', 'log']], key: '{kind="log"}', entries }]);
    const body = await encodePushProtobuf(groupStreams([big]), true);
    expect(await post(body, { 'content-type': 'application/x-protobuf' })).toBe(204);
    expect(receiver.violations).toEqual([]);
    const received = receiver.entries();
    expect(received).toHaveLength(3000);
    expect(received.map((entry) => entry.line)).toEqual(entries.map((entry) => entry.line));
    expect(received[2999]?.timestamp).toBe(NS(1_795_573_539, 999_999_999));
  });

  it('encodes a large push in slices, giving the event loop back, to the very same bytes', async () => {
    const streamOf = (kind: string, count: number): PushStream =>
      pushStream(
        [['kind', kind]],
        `{kind="${kind}"}`,
        Array.from({ length: count }, (_, i) => ({
          seconds: 1_795_573_537 + i,
          nanos: i,
          line: `${kind} ${i} ${'é'.repeat(i % 7)}`,
          metadata: [['session_id', `s${i % 3}`]] as const,
        })),
      );
    const streams = [streamOf('log', ENTRIES_PER_SLICE * 3 + 17), streamOf('event', 5)];
    let yields = 0;
    // Without metadata the entries are encoded again, in slices.
    const sliced = await encodePushRequestInSlices(streams, false, () => {
      yields++;
      return Promise.resolve();
    });
    expect(sliced.equals(encodePushRequest(streams, false))).toBe(true);
    // 772 entries in slices of 250: the loop is given back between every two slices.
    expect(yields).toBe(3);
    const body = await encodePushProtobuf(streams, false);
    expect(await post(body, { 'content-type': 'application/x-protobuf' })).toBe(204);
    expect(receiver.violations).toEqual([]);
    expect(receiver.entries()).toHaveLength(ENTRIES_PER_SLICE * 3 + 17 + 5);
  });

  it('compresses fragment by fragment, giving the event loop back, to exactly one block', async () => {
    const text = Buffer.from(
      Array.from({ length: 20_000 }, (_, i) => `line ${i} kind=log ${i % 97}`).join('\n'),
    );
    for (const size of [0, 1, 65_535, 65_536, 65_537, 300_000, text.length]) {
      const raw = text.subarray(0, size);
      let yields = 0;
      const sliced = await compressInSlices(raw, () => {
        yields++;
        return Promise.resolve();
      });
      expect(sliced.equals(snappyjsCompress(raw)), `${size} bytes`).toBe(true);
      expect(uncompressSync(sliced)).toEqual(raw);
      expect(yields, `${size} bytes`).toBe(Math.max(0, Math.ceil(size / 65_536 / 4) - 1));
    }
  });

  it('keeps no memory outside the JS heap across many megabyte pushes', async () => {
    // The native snappy binding kept ~1.5 MiB of process memory per megabyte push, for good
    // (finding 12 of docs/performance.md); 100 pushes would add ~150 MiB.
    const entries = Array.from({ length: 1000 }, (_, i) => ({
      seconds: 1_795_573_537,
      nanos: i,
      line: `${i} ${'timestamp="2026-11-25 02:25:37.597 +0000 UTC" kind=log '.repeat(20)}`,
    }));
    const streams = groupStreams([
      unitOfEntries([{ labels: [['kind', 'log']], key: '{kind="log"}', entries }]),
    ]);
    for (let warm = 0; warm < 10; warm++) await encodePushProtobuf(streams, true);
    const before = process.memoryUsage.rss();
    for (let push = 0; push < 100; push++) await encodePushProtobuf(streams, true);
    const grownMiB = (process.memoryUsage.rss() - before) / 2 ** 20;
    expect(grownMiB).toBeLessThan(60);
  });
});

describe('JSON + gzip push', () => {
  it('has the documented shape', () => {
    expect(encodePushJsonText(groupStreams([UNIT_B]), true)).toBe(
      '{"streams":[{"stream":{"app_name":"shop","kind":"log"},"values":[["1795573538000000005","third",{"trace_id":"t"}]]}]}',
    );
    expect(encodePushJsonText(groupStreams([UNIT_B]), false)).toBe(
      '{"streams":[{"stream":{"app_name":"shop","kind":"log"},"values":[["1795573538000000005","third"]]}]}',
    );
    expect(JSON.parse(encodePushJsonText(groupStreams([UNIT_A, UNIT_B]), true))).toBeTypeOf(
      'object',
    );
  });

  it('is decoded by the strict receiver with every field intact', async () => {
    const body = await encodePushJson(groupStreams([UNIT_A, UNIT_B]), true);
    expect(body.subarray(0, 2).toString('hex')).toBe('1f8b'); // gzip magic
    expect(
      await post(body, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
    ).toBe(204);
    expect(receiver.violations).toEqual([]);
    const [push] = receiver.pushes;
    expect(push?.encoding).toBe('json');
    expect(push?.contentEncoding).toBe('gzip');
    expect(push?.streams.map(({ labels, entries }) => ({ labels, entries }))).toEqual(
      EXPECTED_STREAMS(true),
    );
  });
});

/**
 * A push stream as given, not checked or sorted as `groupStreams` would: what Pharos would send
 * if it went wrong, for the receiver to refuse.
 */
const rawStream = (key: string, entries: LokiEntry[]): PushStream => ({
  labels: [],
  key,
  parts: [encodeEntries(entries, true)],
  count: entries.length,
  inOrder: true,
});

describe('the strict receiver refuses what Loki (or Pharos) must never get', () => {
  const protobuf = { 'content-type': 'application/x-protobuf' };
  const cases: [string, () => Buffer | Promise<Buffer>, Record<string, string>, RegExp][] = [
    [
      'a labels string that does not parse',
      () =>
        encodePushProtobuf([rawStream('{kind=log}', [{ seconds: 1, nanos: 0, line: 'x' }])], true),
      protobuf,
      /expected "/,
    ],
    [
      'an invalid label name',
      () =>
        encodePushProtobuf(
          [rawStream('{"bad-name"="x"}', [{ seconds: 1, nanos: 0, line: 'x' }])],
          true,
        ),
      protobuf,
      /expected a label name/,
    ],
    [
      'a repeated label name',
      () =>
        encodePushProtobuf(
          [rawStream('{a="1", a="2"}', [{ seconds: 1, nanos: 0, line: 'x' }])],
          true,
        ),
      protobuf,
      /label a repeated/,
    ],
    [
      'timestamps going back within a stream',
      () =>
        encodePushProtobuf(
          [
            rawStream('{a="1"}', [
              { seconds: 2, nanos: 0, line: 'x' },
              { seconds: 1, nanos: 0, line: 'y' },
            ]),
          ],
          true,
        ),
      protobuf,
      /timestamp goes back/,
    ],
    [
      'an empty line',
      () => encodePushProtobuf([rawStream('{a="1"}', [{ seconds: 1, nanos: 0, line: '' }])], true),
      protobuf,
      /empty line/,
    ],
    [
      'a label set twice in one push',
      () =>
        encodePushProtobuf(
          [
            rawStream('{a="1"}', [{ seconds: 1, nanos: 0, line: 'x' }]),
            rawStream('{a="1"}', [{ seconds: 2, nanos: 0, line: 'y' }]),
          ],
          true,
        ),
      protobuf,
      /repeated in one push/,
    ],
    [
      'protobuf that is not snappy-compressed',
      () => encodePushRequest([rawStream('{a="1"}', [{ seconds: 1, nanos: 0, line: 'x' }])], true),
      protobuf,
      /undecodable/,
    ],
    [
      'a JSON value with a numeric timestamp',
      () => gzipSync('{"streams":[{"stream":{"a":"1"},"values":[[1,"x"]]}]}'),
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      /needs \["<unix ns>"/,
    ],
    [
      'an unknown content type',
      () => compressSync('x'),
      { 'content-type': 'text/plain' },
      /unsupported Content-Type/,
    ],
  ];

  it.each(cases)('%s', async (_name, body, headers, violation) => {
    expect(await post(await body(), headers)).toBe(400);
    expect(receiver.violations.join('\n')).toMatch(violation);
    expect(receiver.pushes).toHaveLength(0);
  });

  it('a push without X-Scope-OrgID', async () => {
    const response = await fetch(`${receiver.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: await encodePushProtobuf(groupStreams([UNIT_B]), true),
    });
    expect(response.status).toBe(400);
    expect(receiver.violations).toEqual(['no X-Scope-OrgID header']);
  });
});
