import { describe, expect, it } from 'vitest';
import { countItems, type AcceptedBatch, type FaroPayload } from '../../model/index.js';
import { readFixtureJson } from '../../../test/helpers/fixtures.js';
import { compileLabelRules } from './labels.js';
import { decodeEntries } from './push-protobuf.js';
import {
  createUnitBuilder,
  deserializeUnit,
  serializeUnit,
  unitOfEntries,
  type LokiUnit,
  type UnitBuilderOptions,
} from './unit.js';

const RECEIVED_AT = Date.UTC(2026, 10, 25, 2, 25, 40, 123);
const RECEIVED_SECONDS = Math.floor(RECEIVED_AT / 1000);

function batchOf(payload: FaroPayload, appId = 'app-1'): AcceptedBatch {
  return {
    tenantId: 'tenant-1',
    appId,
    receivedAt: RECEIVED_AT,
    payload,
    itemCount: countItems(payload),
    bytes: JSON.stringify(payload).length,
  };
}

function builder(overrides: Partial<UnitBuilderOptions> = {}) {
  return createUnitBuilder({
    format: 'logfmt',
    labelRules: compileLabelRules({}),
    structuredMetadata: true,
    timestamp: 'receive',
    ...overrides,
  });
}

const fixture02 = readFixtureJson(
  '02-main-console--log_info+log_warn+exc_Error.json',
) as FaroPayload;

describe('select (unit builder)', () => {
  it('groups a batch into streams by labels, in Alloy order, with receive timestamps', () => {
    const unit = builder()(batchOf(fixture02));
    expect(unit).toBeDefined();
    const value = unit?.value as LokiUnit;
    expect(value.streams.map((stream) => stream.key)).toEqual([
      '{app_environment="test", app_name="capture-app", kind="log", level="info", service_name="capture-app"}',
      '{app_environment="test", app_name="capture-app", kind="log", level="warn", service_name="capture-app"}',
      '{app_environment="test", app_name="capture-app", kind="exception", level="error", service_name="capture-app"}',
    ]);
    const entries = value.streams.flatMap((stream) => decodeEntries(stream.encoded));
    expect(entries.map((entry) => /^timestamp="[^"]+" kind=\w+/.exec(entry.line)?.[0])).toEqual([
      'timestamp="2026-11-25 02:25:37.597 +0000 UTC" kind=log',
      'timestamp="2026-11-25 02:25:37.598 +0000 UTC" kind=log',
      'timestamp="2026-11-25 02:25:37.598 +0000 UTC" kind=exception',
    ]);
    // One receive time; a nanosecond apart so no two entries share a timestamp.
    expect(entries.map((entry) => [entry.seconds, entry.nanos])).toEqual([
      [RECEIVED_SECONDS, 123_000_000],
      [RECEIVED_SECONDS, 123_000_001],
      [RECEIVED_SECONDS, 123_000_002],
    ]);
    expect(unit?.items).toEqual({ log: 2, exception: 1 });
    const lineBytes = entries.reduce((sum, entry) => sum + entry.line.length, 0);
    expect(unit?.bytes).toBeGreaterThan(lineBytes);
    // Each part owns its bytes: a slice of Node's shared pool would keep the whole slab alive
    // for as long as the unit waits in a queue, uncounted.
    for (const stream of value.streams)
      expect(stream.encoded.buffer.byteLength).toBe(stream.encoded.length);
    expect(value.streams.map((stream) => [stream.count, stream.inOrder])).toEqual([
      [1, true],
      [1, true],
      [1, true],
    ]);
  });

  it('attaches structured metadata: session, trace, span, page, app ids when present', () => {
    const payload: FaroPayload = {
      meta: { session: { id: 's-1' }, page: { id: 'p-1', url: 'https://e.com/x' } },
      logs: [{ message: 'a', trace: { trace_id: 't-1', span_id: 'sp-1' } }, { message: 'b' }],
    };
    const entries = decodeEntries(builder()(batchOf(payload))!.value.streams[0]!.encoded);
    expect(entries.map((entry) => entry.metadata)).toEqual([
      [
        ['session_id', 's-1'],
        ['trace_id', 't-1'],
        ['span_id', 'sp-1'],
        ['page_id', 'p-1'],
        ['page_url', 'https://e.com/x'],
        ['app_id', 'app-1'],
      ],
      [
        ['session_id', 's-1'],
        ['page_id', 'p-1'],
        ['page_url', 'https://e.com/x'],
        ['app_id', 'app-1'],
      ],
    ]);
    const without = builder({ structuredMetadata: false })(batchOf(payload));
    expect(
      decodeEntries(without!.value.streams[0]!.encoded).every((entry) => !entry.metadata),
    ).toBe(true);
  });

  it('service_name falls back to the registry name, then the app id; session and user ids are never labels', () => {
    const payload: FaroPayload = {
      meta: { session: { id: 's-1' }, user: { id: 'u-1' } },
      events: [{ name: 'e' }],
    };
    expect(builder()(batchOf(payload, 'app-7'))?.value.streams[0]?.key).toBe(
      '{kind="event", level="info", service_name="app-7"}',
    );
    const named = builder({ appName: (id) => (id === 'app-7' ? 'Shop front' : undefined) });
    const key = named(batchOf(payload, 'app-7'))?.value.streams[0]?.key ?? '';
    expect(key).toBe('{kind="event", level="info", service_name="Shop front"}');
    expect(key).not.toMatch(/s-1|u-1/);
  });

  it('copies line keys into labels per entry (Alloy extra_log_labels with "")', () => {
    const payload: FaroPayload = {
      meta: { app: { name: 'shop', version: '1.2.3' } },
      measurements: [
        { type: 'web-vitals', values: { lcp: 2345.6 } },
        { type: 'custom', values: { n: 1 } },
      ],
    };
    const unit = builder({
      labelRules: compileLabelRules({ type: '', value_lcp: '', team: 'web' }),
    })(batchOf(payload));
    expect(unit?.value.streams.map((stream) => stream.key)).toEqual([
      '{app_name="shop", kind="measurement", level="info", service_name="shop", team="web", type="web-vitals", value_lcp="2345.6"}',
      '{app_name="shop", kind="measurement", level="info", service_name="shop", team="web", type="custom"}',
    ]);
  });

  it('uses the client timestamp when asked, within bounds', () => {
    const payload: FaroPayload = {
      logs: [
        { message: 'recent', timestamp: '2026-11-25T02:25:39.500Z' },
        { message: 'future', timestamp: '2026-11-25T02:30:00Z' },
        { message: 'none' },
      ],
    };
    const part = builder({ timestamp: 'client' })(batchOf(payload))!.value.streams[0]!;
    const entries = decodeEntries(part.encoded);
    expect(entries?.map((entry) => [entry.seconds, entry.nanos])).toEqual([
      [RECEIVED_SECONDS - 1, 500_000_000],
      [RECEIVED_SECONDS, 123_000_000],
      [RECEIVED_SECONDS, 123_000_001],
    ]);
    expect([part.inOrder, part.first, part.last]).toEqual([
      true,
      { seconds: RECEIVED_SECONDS - 1, nanos: 500_000_000 },
      { seconds: RECEIVED_SECONDS, nanos: 123_000_001 },
    ]);
    // A browser that sends its items out of order: the push will sort the stream.
    const backwards = builder({ timestamp: 'client' })(
      batchOf({
        logs: [
          { message: 'second', timestamp: '2026-11-25T02:25:39.500Z' },
          { message: 'first', timestamp: '2026-11-25T02:25:38.000Z' },
        ],
      }),
    )!.value.streams[0]!;
    expect(backwards.inOrder).toBe(false);
  });

  it('formats json lines when asked', () => {
    const unit = builder({ format: 'json' })(batchOf({ events: [{ name: 'e' }] }));
    expect(decodeEntries(unit!.value.streams[0]!.encoded)[0]?.line).toBe(
      '{"browser_mobile":"false","event_name":"e","kind":"event","timestamp":"0001-01-01 00:00:00 +0000 UTC"}',
    );
  });

  it('has nothing to select from a batch without logs, exceptions, measurements or events', () => {
    expect(builder()(batchOf({ traces: { resourceSpans: [] } }))).toBeUndefined();
    expect(builder()(batchOf({ meta: {} }))).toBeUndefined();
  });
});

describe('spool form', () => {
  it('round-trips a unit exactly, and is compact', () => {
    const unit = builder()(batchOf(fixture02));
    const value = unit?.value as LokiUnit;
    const data = serializeUnit(value);
    expect(deserializeUnit(data)).toEqual(value);
    // Each string once and no field names: little beyond the strings themselves.
    const strings = JSON.stringify(
      value.streams.map((stream) => [
        stream.labels,
        decodeEntries(stream.encoded).map((entry) => [entry.line, entry.metadata]),
      ]),
    ).length;
    const entryCount = value.streams.reduce((sum, stream) => sum + stream.count, 0);
    expect(data.length).toBeLessThan(strings + 30 * entryCount);
  });

  it('round-trips entries without metadata and odd strings', () => {
    const entries = [
      { seconds: 1, nanos: 2, line: 'a "b"\n\u0000 😀' },
      { seconds: 1, nanos: 3, line: 'x', metadata: [['session_id', 's']] as const },
    ];
    const value = unitOfEntries([{ labels: [['kind', 'log']], entries }]);
    const back = deserializeUnit(serializeUnit(value));
    expect(back).toEqual(value);
    expect(decodeEntries(back.streams[0]!.encoded)).toEqual(entries);
  });

  it('refuses data that is not a version 1 unit', () => {
    expect(() => deserializeUnit(Buffer.from('[2,[]]'))).toThrow(/version 1/);
    expect(() => deserializeUnit(Buffer.from('{"streams":[]}'))).toThrow(/version 1/);
    expect(() => deserializeUnit(Buffer.from('[1,[[[["kind","log"]],[[1,2]]]]]'))).toThrow(
      /entry 0 is malformed/,
    );
    expect(() => deserializeUnit(Buffer.from('[1,[[[["kind"]],[]]]]'))).toThrow(
      /labels are malformed/,
    );
    expect(() =>
      deserializeUnit(Buffer.from('[1,[[[["kind","log"]],[[1,1000000000,"x"]]]]]')),
    ).toThrow(/entry 0 is malformed/);
    expect(() => deserializeUnit(Buffer.from('not json'))).toThrow();
  });
});
