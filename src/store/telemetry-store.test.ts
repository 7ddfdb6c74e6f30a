import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AcceptedBatch, FaroPayload } from '../model/index.js';
import { TelemetryStore } from './telemetry-store.js';

const T0 = Date.parse('2026-11-25T10:00:00.000Z');

function batch(payload: FaroPayload, receivedAt = T0, appId = 'shop'): AcceptedBatch {
  return { tenantId: 'acme', appId, receivedAt, payload, itemCount: 0, bytes: 100 };
}

function logsAt(count: number, start: number, session = 's1', message = 'hello'): FaroPayload {
  return {
    meta: { session: { id: session }, app: { name: 'shop' } },
    logs: Array.from({ length: count }, (_, i) => ({
      message: `${message} ${i}`,
      level: i % 2 === 0 ? 'info' : 'warn',
      timestamp: new Date(start + i * 1000).toISOString(),
      ...(i === 0
        ? { trace: { trace_id: 'ABCDEF0123456789abcdef0123456789', span_id: '0123456789abcdef' } }
        : {}),
    })),
  };
}

describe('telemetry store', () => {
  let store: TelemetryStore;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-store-'));
    store = new TelemetryStore(join(dir, 'telemetry.db'));
  });
  afterEach(() => store.close());

  it('filters by kind, time range, session, trace, name and text', () => {
    store.write([
      batch(logsAt(10, T0)),
      batch(logsAt(5, T0, 's2', 'other')),
      batch(logsAt(3, T0, 's3'), T0, 'blog'),
    ]);
    const base = { appId: 'shop', kind: 'log' as const, limit: 100 };
    expect(store.query(base)).toHaveLength(15);
    expect(
      store.query({ ...base, from: T0 + 2000, to: T0 + 4000 }).map((item) => item.item.message),
    ).toEqual(['other 3', 'hello 3', 'other 2', 'hello 2']);
    expect(store.query({ ...base, sessionId: 's2' })).toHaveLength(5);
    expect(store.query({ ...base, traceId: 'abcdef0123456789ABCDEF0123456789' })).toHaveLength(2);
    expect(store.query({ ...base, name: 'warn' })).toHaveLength(7);
    expect(store.query({ ...base, text: 'other 4' })).toHaveLength(1);
    expect(store.query({ ...base, kind: 'event' })).toHaveLength(0);
    expect(store.query({ appId: 'blog', limit: 100 })).toHaveLength(3);
  });

  it('pages with a cursor without skipping or repeating items that share a time', () => {
    // Five items per timestamp: the cursor must break ties by id.
    const payloads = Array.from({ length: 5 }, () => logsAt(4, T0));
    store.write(payloads.map((payload) => batch(payload)));
    const seen: number[] = [];
    let cursor: { time: number; id: number } | undefined;
    for (let page = 0; page < 10; page++) {
      const items = store.query({ appId: 'shop', limit: 3, cursor });
      if (items.length === 0) break;
      seen.push(...items.map((item) => item.id));
      const last = items[items.length - 1];
      cursor = last && { time: last.time, id: last.id };
    }
    expect(seen).toHaveLength(20);
    expect(new Set(seen).size).toBe(20);
    const ascending = store
      .query({ appId: 'shop', limit: 100, order: 'asc' })
      .map((item) => item.id);
    expect([...seen].reverse()).toEqual(ascending);
  });

  it('stores a meta once however many items share it', () => {
    store.write([batch(logsAt(50, T0)), batch(logsAt(50, T0))]);
    const items = store.query({ appId: 'shop', limit: 1000 });
    expect(items).toHaveLength(100);
    expect(new Set(items.map((item) => JSON.stringify(item.meta))).size).toBe(1);
  });

  it('deletes items older than the maximum age', () => {
    store.write([batch(logsAt(5, T0), T0), batch(logsAt(7, T0), T0 + 10 * 86_400_000)]);
    const result = store.applyRetention({
      now: T0 + 12 * 86_400_000,
      maxAgeMs: 7 * 86_400_000,
      maxBytes: 1024 ** 3,
    });
    expect(result.deletedByAge).toBe(5);
    expect(result.deletedBySize).toBe(0);
    expect(store.counts()).toEqual({ log: 7 });
  });

  it('deletes the oldest items first until the store fits its size bound, and the file stops growing', () => {
    const message = 'x'.repeat(2000);
    const write = (round: number) =>
      store.write(
        Array.from({ length: 20 }, () =>
          batch(logsAt(50, T0 + round * 1000, `s${round}`, message), T0 + round),
        ),
      );
    write(0);
    const full = store.sizeBytes();
    expect(full).toBeGreaterThan(2_000_000);
    const bound = Math.floor(full / 2);
    const result = store.applyRetention({ now: T0, maxAgeMs: 86_400_000, maxBytes: bound });
    expect(result.deletedBySize).toBeGreaterThan(0);
    expect(result.sizeBytes).toBeLessThanOrEqual(bound);
    // The newest items survive; the oldest went first.
    const remaining = store.query({ appId: 'shop', limit: 1000, order: 'asc' });
    expect(remaining[remaining.length - 1]?.item.message).toBe(`${message} 49`);

    // Keep writing and trimming: the file stays near the bound instead of growing without end.
    for (let round = 1; round <= 4; round++) {
      write(round);
      store.applyRetention({ now: T0, maxAgeMs: 86_400_000, maxBytes: bound });
    }
    expect(store.sizeBytes()).toBeLessThanOrEqual(bound);
    expect(statSync(join(dir, 'telemetry.db')).size).toBeLessThan(full * 1.5);
  });

  it('tells followers about new items and reads what came after an id', () => {
    const seen: number[] = [];
    const unsubscribe = store.onCommit((lastId) => seen.push(lastId));
    store.write([batch(logsAt(2, T0))]);
    store.write([batch(logsAt(3, T0))]);
    unsubscribe();
    store.write([batch(logsAt(1, T0))]);
    expect(seen).toEqual([2, 5]);
    expect(store.since('shop', 2, 100).map((item) => item.id)).toEqual([3, 4, 5, 6]);
  });
});
