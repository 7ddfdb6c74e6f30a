import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countItems, type AcceptedBatch, type FaroPayload } from '../../model/index.js';
import { VERSION } from '../../version.js';
import { collectRequests, fixtureBody } from '../../../test/helpers/fixtures.js';
import { startLokiReceiver, type LokiReceiver } from '../../../test/helpers/loki-receiver.js';
import type { SinkProtocol } from '../delivery/types.js';
import { formatPayloadLines } from './lines.js';
import { createLokiProtocol, type LokiProtocolOptions } from './protocol.js';
import type { LokiUnit } from './unit.js';

/** The Loki protocol end to end: select, the spool round trip, send, and what Loki received. */

let receivedAt = Date.UTC(2026, 10, 25, 2, 26, 0);
function batchOf(payload: FaroPayload, appId = 'app-1'): AcceptedBatch {
  receivedAt += 7;
  return {
    tenantId: 'tenant-1',
    appId,
    receivedAt,
    payload,
    itemCount: countItems(payload),
    bytes: JSON.stringify(payload).length,
  };
}

/** Every payload the real SDK sent that has something for Loki. */
const fixturePayloads: FaroPayload[] = collectRequests
  .map((request) => fixtureBody(request).json as FaroPayload)
  .filter(
    (payload) =>
      (payload.logs?.length ?? 0) +
        (payload.exceptions?.length ?? 0) +
        (payload.measurements?.length ?? 0) +
        (payload.events?.length ?? 0) >
      0,
  );

const LOG_PAYLOAD: FaroPayload = {
  meta: { app: { name: 'shop', environment: 'prod' }, session: { id: 's-1' } },
  logs: [{ message: 'hello', level: 'info', trace: { trace_id: 't-1', span_id: 'sp-1' } }],
};

let receiver: LokiReceiver;
beforeAll(async () => {
  receiver = await startLokiReceiver();
});
afterAll(async () => {
  await receiver.close();
});
afterEach(async () => {
  receiver.reset();
  receiver.clearResponses();
  receiver.setDelay(0);
  await receiver.up();
});

function protocol(overrides: Partial<LokiProtocolOptions> = {}): SinkProtocol<LokiUnit> {
  return createLokiProtocol({ url: receiver.url, orgId: 'tenant-1', ...overrides });
}

function unitsOf(proto: SinkProtocol<LokiUnit>, payloads: readonly FaroPayload[]): LokiUnit[] {
  return payloads.flatMap((payload) => {
    const unit = proto.select(batchOf(payload));
    return unit ? [unit.value] : [];
  });
}

const signal = (): AbortSignal => AbortSignal.timeout(5000);

describe.each(['protobuf', 'json'] as const)('%s push of every fixture payload', (encoding) => {
  it('delivers every line, through the spool form, to the right streams, with no violation', async () => {
    const proto = protocol({ encoding });
    // Through the spool: what is sent is what a restart would read back.
    const units = unitsOf(proto, fixturePayloads).map((unit) =>
      proto.deserialize(proto.serialize(unit)),
    );
    // Three pushes of several batches each, as the framework would group them.
    const third = Math.ceil(units.length / 3);
    for (let i = 0; i < units.length; i += third) {
      expect(await proto.send(units.slice(i, i + third), signal())).toEqual({
        status: 'delivered',
      });
    }
    expect(receiver.violations).toEqual([]);
    expect(receiver.pushes).toHaveLength(3);

    const expectedLines = fixturePayloads.flatMap((payload) =>
      formatPayloadLines(payload, 'logfmt').map((line) => ({
        kind: line.item.kind,
        line: line.line,
      })),
    );
    const received = receiver.entries();
    expect(received).toHaveLength(expectedLines.length);
    // Within a stream, lines arrive in the order they were accepted.
    const byKind = (kind: string, lines: { kind: string; line: string }[]) =>
      lines.filter((line) => line.kind === kind).map((line) => line.line);
    const receivedWithKind = received.map((entry) => ({
      kind: entry.labels.kind ?? '',
      line: entry.line,
    }));
    for (const kind of ['log', 'exception', 'measurement', 'event']) {
      expect(byKind(kind, receivedWithKind).sort()).toEqual(byKind(kind, expectedLines).sort());
    }
    for (const entry of received) {
      expect(entry.orgId).toBe('tenant-1');
      expect(entry.labels).toMatchObject({
        service_name: 'capture-app',
        app_name: 'capture-app',
        app_environment: 'test',
      });
      expect(entry.metadata.app_id).toBe('app-1');
      expect(entry.metadata.session_id).toMatch(/^\w{10}$/);
      expect(Object.keys(entry.labels)).not.toContain('session_id');
    }
    // No two entries of a stream share a timestamp (Loki would drop identical lines).
    for (const push of receiver.pushes) {
      for (const stream of push.streams) {
        const times = stream.entries.map((entry) => entry.timestamp);
        expect(new Set(times).size).toBe(times.length);
      }
    }
    const [first] = receiver.pushes;
    expect(first?.headers['user-agent']).toBe(`pharos/${VERSION}`);
    expect(first?.encoding).toBe(encoding);
  });
});

describe('request', () => {
  it('sends the exception stream with level=error and the trace ids as metadata', async () => {
    const proto = protocol();
    const payload: FaroPayload = {
      meta: { app: { name: 'shop' }, page: { id: 'p-1', url: 'https://shop.example/cart' } },
      exceptions: [{ type: 'Error', value: 'boom', trace: { trace_id: 't-9', span_id: 's-9' } }],
    };
    expect(await proto.send(unitsOf(proto, [payload]), signal())).toEqual({ status: 'delivered' });
    const [entry] = receiver.entries();
    expect(entry?.labels).toEqual({
      app_name: 'shop',
      kind: 'exception',
      level: 'error',
      service_name: 'shop',
    });
    expect(entry?.metadata).toEqual({
      trace_id: 't-9',
      span_id: 's-9',
      page_id: 'p-1',
      page_url: 'https://shop.example/cart',
      app_id: 'app-1',
    });
  });

  it('adds static labels, extra headers and basic auth; omits X-Scope-OrgID when there is no org id', async () => {
    const lax = await startLokiReceiver({ requireOrgId: false });
    try {
      const proto = createLokiProtocol({
        url: `${lax.url}/`,
        labels: { cluster: 'eu-1' },
        headers: { 'X-Gateway-Token': 'g' },
        basicAuth: { username: 'u', password: 'p' },
        structuredMetadata: false,
      });
      expect(await proto.send(unitsOf(proto, [LOG_PAYLOAD]), signal())).toEqual({
        status: 'delivered',
      });
      expect(lax.violations).toEqual([]);
      const [push] = lax.pushes;
      expect(push?.orgId).toBeUndefined();
      expect(push?.headers['x-gateway-token']).toBe('g');
      expect(push?.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
      expect(push?.streams[0]?.labels).toEqual({
        app_environment: 'prod',
        app_name: 'shop',
        cluster: 'eu-1',
        kind: 'log',
        level: 'info',
        service_name: 'shop',
      });
      expect(push?.streams[0]?.entries[0]?.metadata).toEqual({});
    } finally {
      await lax.close();
    }
  });

  it('merges batches into one stream per label set and keeps their order', async () => {
    const proto = protocol();
    const payloads = [1, 2, 3].map((n): FaroPayload => ({
      ...LOG_PAYLOAD,
      logs: [{ message: `m${n}`, level: 'info' }],
    }));
    expect(await proto.send(unitsOf(proto, payloads), signal())).toEqual({ status: 'delivered' });
    expect(receiver.pushes[0]?.streams).toHaveLength(1);
    expect(receiver.entries().map((entry) => /message=(\w+)/.exec(entry.line)?.[1])).toEqual([
      'm1',
      'm2',
      'm3',
    ]);
  });

  it('sorts client timestamps within a stream before pushing', async () => {
    const proto = protocol({ timestamp: 'client' });
    const at = (offsetMs: number) => new Date(receivedAt - offsetMs).toISOString();
    const payload: FaroPayload = {
      ...LOG_PAYLOAD,
      logs: [
        { message: 'late', level: 'info', timestamp: at(-1000) }, // in the future: receive time
        { message: 'old', level: 'info', timestamp: at(5000) },
        { message: 'older', level: 'info', timestamp: at(9000) },
      ],
    };
    expect(await proto.send(unitsOf(proto, [payload]), signal())).toEqual({ status: 'delivered' });
    expect(receiver.violations).toEqual([]);
    expect(receiver.entries().map((entry) => /message=(\w+)/.exec(entry.line)?.[1])).toEqual([
      'older',
      'old',
      'late',
    ]);
  });

  it('keeps connections alive across pushes', async () => {
    const proto = protocol();
    const before = receiver.connections;
    for (let i = 0; i < 5; i++) {
      expect(await proto.send(unitsOf(proto, [LOG_PAYLOAD]), signal())).toEqual({
        status: 'delivered',
      });
    }
    expect(receiver.pushes).toHaveLength(5);
    // At most one new connection (none when an earlier test's connection is still pooled).
    expect(receiver.connections - before).toBeLessThanOrEqual(1);
  });

  it('sends nothing for no values', async () => {
    expect(await protocol().send([], signal())).toEqual({ status: 'delivered' });
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('response classification, against a server answering each status', () => {
  const cases: [number, Record<string, string>, string, unknown][] = [
    [200, {}, '', { status: 'delivered' }],
    [
      400,
      {},
      'entry too far behind',
      { status: 'rejected', reason: 'http_400', detail: 'entry too far behind' },
    ],
    [
      413,
      {},
      'request too large',
      { status: 'rejected', reason: 'http_413', detail: 'request too large' },
    ],
    [422, {}, 'unprocessable', { status: 'rejected', reason: 'http_422', detail: 'unprocessable' }],
    [408, {}, '', { status: 'retry', reason: 'http_408' }],
    [
      429,
      { 'retry-after': '3' },
      'slow down',
      { status: 'retry', reason: 'http_429', retryAfterMs: 3000 },
    ],
    [500, {}, 'oops', { status: 'retry', reason: 'http_500' }],
    [502, {}, '', { status: 'retry', reason: 'http_502' }],
    [503, { 'retry-after': '1' }, '', { status: 'retry', reason: 'http_503', retryAfterMs: 1000 }],
    [504, {}, '', { status: 'retry', reason: 'http_504' }],
    [401, {}, 'no auth', { status: 'retry', reason: 'http_401' }],
    [403, {}, 'forbidden', { status: 'retry', reason: 'http_403' }],
    [404, {}, 'not found', { status: 'retry', reason: 'http_404' }],
    [
      302,
      { location: 'http://127.0.0.1:1/elsewhere' },
      '',
      { status: 'retry', reason: 'http_3xx' },
    ],
  ];

  it.each(cases)('%i', async (status, headers, body, expected) => {
    receiver.respondWith(status, headers, body, 1);
    const proto = protocol();
    expect(await proto.send(unitsOf(proto, [LOG_PAYLOAD]), signal())).toEqual(expected);
    expect(receiver.violations).toEqual([]);
    // Only a 2xx counts as received.
    expect(receiver.pushes).toHaveLength(status < 300 ? 1 : 0);
  });

  it('reads Retry-After as an HTTP-date', async () => {
    const in30s = new Date(Date.now() + 30_000).toUTCString();
    receiver.respondWith(503, { 'retry-after': in30s }, '', 1);
    const proto = protocol();
    const outcome = await proto.send(unitsOf(proto, [LOG_PAYLOAD]), signal());
    expect(outcome).toMatchObject({ status: 'retry', reason: 'http_503' });
    const retryAfterMs = outcome.status === 'retry' ? (outcome.retryAfterMs ?? 0) : 0;
    expect(retryAfterMs).toBeGreaterThan(25_000);
    expect(retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('pushes without structured metadata once Loki says it is disallowed, instead of dropping', async () => {
    receiver.respondWith(
      400,
      {},
      'stream \'{kind="log"}\' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it.',
      1,
    );
    const proto = protocol();
    const units = unitsOf(proto, [LOG_PAYLOAD]);
    expect(await proto.send(units, signal())).toEqual({
      status: 'retry',
      reason: 'structured_metadata_disallowed',
      retryAfterMs: 0,
    });
    expect(await proto.send(units, signal())).toEqual({ status: 'delivered' });
    const [entry] = receiver.entries();
    expect(entry?.metadata).toEqual({});
    expect(entry?.line).toContain('session_id=s-1'); // the id is still on the line
    // Any other 400 is a rejection.
    receiver.respondWith(400, {}, 'entry too far behind', 1);
    expect(await proto.send(units, signal())).toMatchObject({ status: 'rejected' });
  });

  it('truncates a long rejection body', async () => {
    receiver.respondWith(400, {}, `${'x'.repeat(100_000)}`, 1);
    const proto = protocol();
    const outcome = await proto.send(unitsOf(proto, [LOG_PAYLOAD]), signal());
    expect(outcome.status).toBe('rejected');
    const detail = outcome.status === 'rejected' ? (outcome.detail ?? '') : '';
    expect(detail.length).toBe(513);
    expect(detail.endsWith('…')).toBe(true);
  });

  it('retries while Loki is down (connection refused or 503), then delivers', async () => {
    const proto = protocol();
    const units = unitsOf(proto, [LOG_PAYLOAD]);
    await receiver.down('refuse');
    expect(await proto.send(units, signal())).toEqual({ status: 'retry', reason: 'network' });
    await receiver.up();
    await receiver.down('503');
    expect(await proto.send(units, signal())).toEqual({ status: 'retry', reason: 'http_503' });
    await receiver.up();
    expect(await proto.send(units, signal())).toEqual({ status: 'delivered' });
    await receiver.waitForEntries(1);
  });

  it('reports a timeout when the deadline passes, and an abort otherwise', async () => {
    receiver.setDelay(1000);
    const proto = protocol();
    const units = unitsOf(proto, [LOG_PAYLOAD]);
    expect(await proto.send(units, AbortSignal.timeout(100))).toEqual({
      status: 'retry',
      reason: 'timeout',
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect(await proto.send(units, controller.signal)).toEqual({
      status: 'retry',
      reason: 'aborted',
    });
    // Loki may still ingest a push its client gave up on; the retry carries the same timestamps
    // and lines, which Loki drops as duplicates.
    const late = await receiver.waitForEntries(2);
    expect(late[0]?.timestamp).toBe(late[1]?.timestamp);
    expect(late[0]?.line).toBe(late[1]?.line);
  });
});

describe('construction', () => {
  it('refuses a bad URL, label name or header, and basic auth with an Authorization header', () => {
    expect(() => createLokiProtocol({ url: 'loki:3100' })).toThrow(/http or https/);
    expect(() => createLokiProtocol({ url: 'http://loki', labels: { 'a-b': 'x' } })).toThrow(
      /not a valid label name/,
    );
    expect(() => createLokiProtocol({ url: 'http://loki', headers: { 'a b': 'x' } })).toThrow();
    expect(() =>
      createLokiProtocol({
        url: 'http://loki',
        headers: { authorization: 'Bearer x' },
        basicAuth: { username: 'u', password: 'p' },
      }),
    ).toThrow(/either basicAuth or an Authorization header/);
  });

  it('is the loki kind', () => {
    expect(createLokiProtocol({ url: 'http://loki' }).kind).toBe('loki');
  });
});
