import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaroPayload } from '../../src/model/index.js';
import type { SinkProtocol } from '../../src/sinks/delivery/types.js';
import {
  createTracesProtocol,
  type PartialSuccess,
  type TracesProtocolOptions,
  type TracesUnitValue,
} from '../../src/sinks/otlp/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import {
  CLICK_FETCH_FIXTURE,
  PLAIN_FETCH_FIXTURE,
  batchOf,
  expectedSpan,
  fixturePayload,
  spansOf,
  stringAttribute,
  viewOf,
} from './support.js';

const never = () => new AbortController().signal;

describe('traces sink protocol against a strict OTLP/HTTP receiver', () => {
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => {
    expect(receiver.errors).toEqual([]);
    receiver.reset();
  });
  afterAll(() => receiver.close());

  const protocol = (options: Partial<TracesProtocolOptions> = {}) =>
    createTracesProtocol({ url: receiver.url, orgId: 'acme-org', ...options });

  /** select → send, as the delivery framework would; fails the test when select finds nothing. */
  const deliver = async (
    sink: SinkProtocol<TracesUnitValue>,
    payloads: FaroPayload[],
    signal = never(),
  ) => {
    const units = payloads.map((payload) => sink.select(batchOf(payload)));
    const values = units.map((unit) => {
      if (!unit) throw new Error('select found no spans');
      return unit.value;
    });
    return sink.send(values, signal);
  };

  describe.each([
    { encoding: 'protobuf', gzip: true },
    { encoding: 'protobuf', gzip: false },
    { encoding: 'json', gzip: true },
    { encoding: 'json', gzip: false },
  ] as const)('$encoding, gzip $gzip', ({ encoding, gzip }) => {
    it('delivers every span of fixtures 11 and 14 unchanged, in one request', async () => {
      const click = fixturePayload(CLICK_FETCH_FIXTURE);
      const plain = fixturePayload(PLAIN_FETCH_FIXTURE);
      const sink = protocol({ encoding, gzip, headers: { Authorization: 'Basic abc' } });

      expect(await deliver(sink, [click, plain])).toEqual({ status: 'delivered' });

      const spans = receiver.spans();
      const sent = [
        ...spansOf(click.traces?.resourceSpans),
        ...spansOf(plain.traces?.resourceSpans),
      ];
      expect(sent).toHaveLength(2);
      expect(spans.map(viewOf)).toEqual(sent.map(expectedSpan));
      // The two batches share a resource and a scope: the push carries them once.
      const [request] = receiver.accepted;
      expect(receiver.accepted).toHaveLength(1);
      expect(request?.resourceSpans).toHaveLength(1);
      expect(request?.resourceSpans[0]?.scopeSpans).toHaveLength(1);
      expect(request?.encoding).toBe(encoding);
      expect(request?.gzip).toBe(gzip);
      expect(request?.headers).toMatchObject({
        'x-scope-orgid': 'acme-org',
        authorization: 'Basic abc',
        'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      });
      expect(request?.headers['user-agent']).toMatch(/^pharos\//);
      if (!gzip) expect(request?.headers['content-encoding']).toBeUndefined();
    });

    it('keeps the resource attributes the SDK set and adds only the missing ones', async () => {
      const payload = fixturePayload(CLICK_FETCH_FIXTURE);
      // The meta disagrees with the SDK's resource: the resource must win.
      payload.meta = {
        ...payload.meta,
        app: { name: 'meta-name', version: '9.9.9', environment: 'meta-env', namespace: 'meta-ns' },
      };
      const sdkAttributes = payload.traces?.resourceSpans?.[0]?.resource?.attributes ?? [];
      expect(sdkAttributes.map((attribute) => attribute.key)).toContain('service.name');

      expect(await deliver(protocol({ encoding, gzip }), [payload])).toEqual({
        status: 'delivered',
      });
      const [span] = receiver.spans();
      if (!span) throw new Error('no span arrived');
      for (const attribute of sdkAttributes)
        expect(span.resourceAttributes[attribute.key]).toEqual(attribute.value);
      expect(stringAttribute(span, 'service.name')).toBe('capture-app');
      expect(stringAttribute(span, 'service.version')).toBe('1.2.3');
      expect(stringAttribute(span, 'service.namespace')).toBe('faro-capture');
      expect(stringAttribute(span, 'deployment.environment.name')).toBe('test');
      expect(stringAttribute(span, 'session.id')).toBe('69tcByp4Jx');
      expect(stringAttribute(span, 'pharos.tenant')).toBe('acme');
      expect(Object.values(span.resourceKeyCounts).every((count) => count === 1)).toBe(true);
      expect(Object.keys(span.resourceAttributes)).toHaveLength(sdkAttributes.length + 2);
    });
  });

  it('adds service, environment, session and tenant from the meta when the resource lacks them', async () => {
    const payload = fixturePayload(PLAIN_FETCH_FIXTURE);
    const resource = payload.traces?.resourceSpans?.[0]?.resource;
    if (!resource?.attributes) throw new Error('fixture has no resource');
    resource.attributes = resource.attributes.filter(
      (attribute) =>
        !attribute.key.startsWith('service.') && !attribute.key.startsWith('deployment.'),
    );

    expect(await deliver(protocol(), [payload])).toEqual({ status: 'delivered' });
    const [span] = receiver.spans();
    if (!span) throw new Error('no span arrived');
    expect({
      name: stringAttribute(span, 'service.name'),
      namespace: stringAttribute(span, 'service.namespace'),
      version: stringAttribute(span, 'service.version'),
      environment: stringAttribute(span, 'deployment.environment.name'),
      session: stringAttribute(span, 'session.id'),
      tenant: stringAttribute(span, 'pharos.tenant'),
    }).toEqual({
      name: 'capture-app',
      namespace: 'faro-capture',
      version: '1.2.3',
      environment: 'test',
      session: '69tcByp4Jx',
      tenant: 'acme',
    });
    expect(stringAttribute(span, 'browser.language')).toBe('en-US');
  });

  it('names the service after the Pharos app when neither the resource nor the meta does', async () => {
    const payload = fixturePayload(PLAIN_FETCH_FIXTURE);
    delete payload.meta;
    const resource = payload.traces?.resourceSpans?.[0]?.resource;
    if (resource) resource.attributes = [];

    expect(await deliver(protocol(), [payload])).toEqual({ status: 'delivered' });
    const [span] = receiver.spans();
    if (!span) throw new Error('no span arrived');
    expect(span.resourceAttributes).toEqual({
      'service.name': { stringValue: 'shop-web' },
      'pharos.tenant': { stringValue: 'acme' },
    });
  });

  it('replaces a pharos.tenant the payload claims with the admitted tenant', async () => {
    const payload = fixturePayload(PLAIN_FETCH_FIXTURE);
    payload.traces?.resourceSpans?.[0]?.resource?.attributes?.push({
      key: 'pharos.tenant',
      value: { stringValue: 'globex' },
    });
    expect(await deliver(protocol(), [payload])).toEqual({ status: 'delivered' });
    const [span] = receiver.spans();
    expect(span && stringAttribute(span, 'pharos.tenant')).toBe('acme');
    expect(span?.resourceKeyCounts['pharos.tenant']).toBe(1);
  });

  it('sends no X-Scope-OrgID without an org id, and appends /v1/traces to a base URL only', async () => {
    const payload = fixturePayload(PLAIN_FETCH_FIXTURE);
    for (const url of [receiver.url, `${receiver.url}/`, `${receiver.url}/v1/traces`]) {
      expect(await deliver(createTracesProtocol({ url }), [payload])).toEqual({
        status: 'delivered',
      });
    }
    expect(receiver.accepted).toHaveLength(3);
    for (const request of receiver.accepted) {
      expect(request.path).toBe('/v1/traces');
      expect(request.headers['x-scope-orgid']).toBeUndefined();
    }
    expect(() => createTracesProtocol({ url: 'tempo:4318' })).toThrow(/http/);
    expect(() => createTracesProtocol({ url: 'not a url' })).toThrow(/not a URL/);
  });

  it('selects nothing from batches without spans, and never changes the batch', () => {
    const sink = protocol();
    expect(
      sink.select(batchOf(fixturePayload('08-main-pushEvent--ev_checkout_started.json'))),
    ).toBe(undefined);
    expect(sink.select(batchOf({ traces: { resourceSpans: [] } }))).toBe(undefined);
    expect(
      sink.select(batchOf({ traces: { resourceSpans: [{ scopeSpans: [{ spans: [] }] }] } })),
    ).toBe(undefined);

    const payload = fixturePayload(CLICK_FETCH_FIXTURE);
    const before = structuredClone(payload);
    const unit = sink.select(batchOf(payload));
    expect(payload).toEqual(before);
    expect(unit?.items).toEqual({ span: 1 });
    expect(unit?.bytes).toBeGreaterThan(1000);
    expect(unit?.value.resourceSpans[0]?.resource?.attributes).toContainEqual({
      key: 'pharos.tenant',
      value: { stringValue: 'acme' },
    });
  });

  it('round-trips a unit through the spool format and refuses anything else', () => {
    const sink = protocol();
    const unit = sink.select(batchOf(fixturePayload(CLICK_FETCH_FIXTURE)));
    if (!unit) throw new Error('no unit');
    const stored = sink.serialize(unit.value);
    expect(sink.deserialize(stored)).toEqual(unit.value);
    expect(() => sink.deserialize(Buffer.from('{"resourceSpans":[]}'))).toThrow(/spool record/);
    expect(() => sink.deserialize(Buffer.from('not json'))).toThrow();
  });

  it('carries exactly the same data in both encodings', async () => {
    const payload = fixturePayload(CLICK_FETCH_FIXTURE);
    await deliver(protocol({ encoding: 'json' }), [payload]);
    await deliver(protocol({ encoding: 'protobuf' }), [payload]);
    const [json, protobuf] = receiver.accepted;
    expect(json?.encoding).toBe('json');
    expect(protobuf?.resourceSpans).toEqual(json?.resourceSpans);
  });

  it('clamps values no wire type can hold instead of failing the whole push', async () => {
    const payload = fixturePayload(PLAIN_FETCH_FIXTURE);
    const [span] = spansOf(payload.traces?.resourceSpans);
    if (!span) throw new Error('fixture has no span');
    span.flags = 2 ** 40;
    span.attributes = [
      { key: 'huge', value: { intValue: '99999999999999999999' } },
      { key: 'two-members', value: { stringValue: 'kept', intValue: 7 } },
      { key: 'no-value' },
    ];
    for (const encoding of ['json', 'protobuf'] as const)
      expect(await deliver(protocol({ encoding }), [payload])).toEqual({ status: 'delivered' });
    for (const received of receiver.spans()) {
      expect(received.flags).toBe(0xffffffff);
      expect(received.attributes).toEqual([
        { key: 'huge', value: { intValue: '9223372036854775807' } },
        { key: 'two-members', value: { stringValue: 'kept' } },
        { key: 'no-value', value: null },
      ]);
    }
  });

  describe('answers', () => {
    const payload = () => fixturePayload(PLAIN_FETCH_FIXTURE);

    it.each([400, 413, 415, 501])(
      '%i is rejected for good, with the backend text',
      async (status) => {
        receiver.respondWith({ status, body: `  refused:\n${'x'.repeat(2000)}` });
        const outcome = await deliver(protocol({ maxDetailChars: 100 }), [payload()]);
        expect(outcome).toMatchObject({ status: 'rejected', reason: `http_${status}` });
        const detail = outcome.status === 'rejected' ? (outcome.detail ?? '') : '';
        expect(detail.startsWith('refused: xxx')).toBe(true);
        expect(detail).toHaveLength(100);
      },
    );

    it('reads the message of a google.rpc.Status answer as the detail', async () => {
      receiver.respondWith({
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: 3, message: 'span 0: invalid trace id' }),
      });
      expect(await deliver(protocol(), [payload()])).toEqual({
        status: 'rejected',
        reason: 'http_400',
        detail: 'span 0: invalid trace id',
      });
    });

    it.each([408, 429, 500, 502, 503, 504])(
      '%i is retried after Retry-After seconds',
      async (status) => {
        receiver.respondWith({ status, headers: { 'retry-after': '7' } });
        expect(await deliver(protocol(), [payload()])).toEqual({
          status: 'retry',
          reason: `http_${status}`,
          retryAfterMs: 7000,
        });
      },
    );

    it('honours Retry-After as an HTTP date, and retries without one', async () => {
      const at = new Date(Date.now() + 30_000).toUTCString();
      receiver.respondWith({ status: 503, headers: { 'retry-after': at } }, { status: 502 });
      const dated = await deliver(protocol(), [payload()]);
      expect(dated).toMatchObject({ status: 'retry', reason: 'http_503' });
      const waitMs = dated.status === 'retry' ? (dated.retryAfterMs ?? 0) : 0;
      expect(waitMs).toBeGreaterThan(27_000);
      expect(waitMs).toBeLessThanOrEqual(30_000);
      expect(await deliver(protocol(), [payload()])).toEqual({
        status: 'retry',
        reason: 'http_502',
      });
    });

    it.each([401, 403, 404, 307])(
      '%i (Pharos misconfigured) keeps the data and retries',
      async (status) => {
        receiver.respondWith({ status, headers: { location: 'http://elsewhere.invalid/' } });
        expect(await deliver(protocol(), [payload()])).toEqual({
          status: 'retry',
          reason: `http_${status}`,
        });
      },
    );

    it.each(['json', 'protobuf'] as const)(
      'a partial success (%s) is delivered and reported',
      async (encoding) => {
        const reported: PartialSuccess[] = [];
        receiver.respondWith({
          status: 200,
          partialSuccess: { rejectedSpans: 1, errorMessage: 'span too old' },
        });
        const sink = protocol({ encoding, onPartialSuccess: (partial) => reported.push(partial) });
        expect(await deliver(sink, [payload()])).toEqual({ status: 'delivered' });
        expect(reported).toEqual([{ rejectedSpans: 1, errorMessage: 'span too old' }]);
        // A plain success reports nothing.
        await deliver(sink, [payload()]);
        expect(reported).toHaveLength(1);
      },
    );

    it('a backend that is down, or drops the connection, is retried as a network failure', async () => {
      await receiver.down();
      try {
        expect(await deliver(protocol(), [payload()])).toEqual({
          status: 'retry',
          reason: 'network',
        });
      } finally {
        await receiver.up();
      }
      receiver.respondWith({ fault: 'reset' });
      expect(await deliver(protocol(), [payload()])).toEqual({
        status: 'retry',
        reason: 'network',
      });
      expect(await deliver(protocol(), [payload()])).toEqual({ status: 'delivered' });
    });

    it('a backend that never answers is retried once the deadline passes', async () => {
      receiver.respondWith({ fault: 'hang' });
      const started = Date.now();
      // Aborted the way the delivery framework does it: its own error, after requestTimeoutMs.
      const deadline = new AbortController();
      setTimeout(() => deadline.abort(new Error('push timed out')), 300);
      expect(await deliver(protocol(), [payload()], deadline.signal)).toEqual({
        status: 'retry',
        reason: 'timeout',
      });
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });
});
