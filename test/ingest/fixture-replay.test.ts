import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { collectRequests, fixtureBody, replayHeaders, type FaroBody } from '../helpers/fixtures.js';
import {
  FIXTURE_APP,
  apiGet,
  fixtureTenantConfig,
  startTestPharos,
  type TestPharos,
} from '../helpers/pharos.js';

interface StoredItem {
  id: number;
  kind: string;
  tenantId: string;
  appId: string;
  time: number;
  sessionId: string | null;
  traceId: string | null;
  item: Record<string, unknown>;
  meta: Record<string, unknown>;
  resource?: Record<string, unknown>;
  scope?: Record<string, unknown>;
}

interface Expected {
  kind: string;
  item: Record<string, unknown>;
  meta: Record<string, unknown>;
  resource?: Record<string, unknown>;
  scope?: Record<string, unknown>;
}

/** The items of one body, in the order Pharos stores them (logs, exceptions, measurements, events, spans). */
function expectedItems(body: FaroBody): Expected[] {
  const meta = body.meta ?? {};
  const out: Expected[] = [];
  for (const item of body.logs ?? []) out.push({ kind: 'log', item, meta });
  for (const item of body.exceptions ?? []) out.push({ kind: 'exception', item, meta });
  for (const item of body.measurements ?? []) out.push({ kind: 'measurement', item, meta });
  for (const item of body.events ?? []) out.push({ kind: 'event', item, meta });
  for (const resourceSpans of body.traces?.resourceSpans ?? []) {
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const item of scopeSpans.spans ?? []) {
        out.push({
          kind: 'span',
          item,
          meta,
          resource: resourceSpans.resource ?? {},
          scope: scopeSpans.scope ?? {},
        });
      }
    }
  }
  return out;
}

describe('replaying every request the real Faro SDK 2.12 sent to /collect', () => {
  let pharos: TestPharos;
  const expected: Expected[] = [];
  /** The SDK's retries repeat their batch's Idempotency-Key: Pharos ingests such a batch once. */
  const seenKeys = new Set<string>();
  let retriesOfAcceptedBatches = 0;

  beforeAll(async () => {
    // Privacy rules off: this test proves every field arrives intact (the rules, which change
    // fields on purpose, have their own tests in test/privacy).
    pharos = await startTestPharos({ ...fixtureTenantConfig(), privacy: { enabled: false } });
  });
  afterAll(() => pharos.stop());

  it('answers 202 with an empty body to each one, with its captured headers (gzip ones as sent)', async () => {
    expect(collectRequests.length).toBe(42);
    expect(collectRequests.filter((captured) => captured.wireEncoding === 'gzip').length).toBe(3);
    for (const captured of collectRequests) {
      const { wire, json } = fixtureBody(captured);
      const response = await request(`${pharos.publicUrl}${captured.path}`, {
        method: 'POST',
        headers: replayHeaders(captured),
        body: wire,
      });
      const text = await response.body.text();
      expect({ file: captured.file, status: response.statusCode, body: text }).toEqual({
        file: captured.file,
        status: 202,
        body: '',
      });
      // The SDK reads these cross-origin: the captured requests come from another origin.
      expect(response.headers['access-control-allow-origin']).toBe(FIXTURE_APP.origin);
      expect(response.headers['access-control-expose-headers']).toBe(
        'Retry-After, X-Faro-Session-Status',
      );
      const key = replayHeaders(captured)['idempotency-key'] ?? '';
      if (seenKeys.has(key)) {
        retriesOfAcceptedBatches++;
      } else {
        seenKeys.add(key);
        expected.push(...expectedItems(json));
      }
    }
    // The captured 429 and 503 timelines: 1 + 2 + 2 retries, each with its batch's key.
    expect(retriesOfAcceptedBatches).toBe(5);
  });

  it('stores every item with its fields intact, its meta, session, trace and time', async () => {
    await pharos.flush();
    const stored: StoredItem[] = [];
    for (const kind of ['logs', 'exceptions', 'measurements', 'events', 'spans']) {
      const { items } = await apiGet<{ items: StoredItem[] }>(
        pharos,
        `/api/v1/apps/${FIXTURE_APP.app}/${kind}?limit=1000`,
      );
      stored.push(...items);
    }
    stored.sort((a, b) => a.id - b.id);

    expect(stored.length).toBe(expected.length);
    expect(expected.length).toBeGreaterThan(70);
    stored.forEach((actual, index) => {
      const want = expected[index] as Expected;
      expect(actual.kind).toBe(want.kind);
      if (want.kind === 'exception') {
        // The one field the enrich stage adds: the error group (16 hex digits).
        const { pharosFingerprint, ...sent } = actual.item;
        expect(pharosFingerprint).toMatch(/^[0-9a-f]{16}$/);
        expect(sent).toEqual(want.item);
      } else {
        expect(actual.item).toEqual(want.item);
      }
      expect(actual.meta).toEqual(want.meta);
      expect(actual.tenantId).toBe(FIXTURE_APP.tenant);
      expect(actual.appId).toBe(FIXTURE_APP.app);
      expect(actual.sessionId).toBe((want.meta.session as { id: string }).id);
      if (want.kind === 'span') {
        expect(actual.resource).toEqual(want.resource);
        expect(actual.scope).toEqual(want.scope);
        expect(actual.traceId).toBe(want.item.traceId);
        expect(actual.time).toBe(
          Number(BigInt(want.item.startTimeUnixNano as string) / 1_000_000n),
        );
      } else {
        expect(actual.time).toBe(Date.parse(want.item.timestamp as string));
        expect(actual.traceId).toBe(
          (want.item.trace as { trace_id?: string } | undefined)?.trace_id ?? null,
        );
      }
    });
  });

  it('keeps the fields Alloy drops (bundleId, gitHash, browser.brands, os, action, exception frames)', async () => {
    const { items } = await apiGet<{ items: StoredItem[] }>(
      pharos,
      `/api/v1/apps/${FIXTURE_APP.app}/events?name=faro.user.action`,
    );
    expect(items.length).toBeGreaterThan(0);
    const meta = items[0]?.meta as {
      app: Record<string, string>;
      browser: Record<string, unknown>;
      os: Record<string, string>;
    };
    expect(meta.app.bundleId).toBe('1795573532342c4542cc2fb');
    expect(meta.app.gitHash).toBe('d51350b017f5f4f5798fdd61cd68ab3a109a9fac');
    expect(Array.isArray(meta.browser.brands)).toBe(true);
    expect(meta.os).toEqual({ name: 'Linux' });
    expect(items[0]?.item.action).toBeDefined();
  });

  it('counts accepted items by tenant and kind in /metrics', async () => {
    const text = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
    const kinds = ['log', 'exception', 'measurement', 'event', 'span'];
    for (const kind of kinds) {
      const count = expected.filter((item) => item.kind === kind).length;
      expect(text).toContain(
        `pharos_items_received_total{tenant="${FIXTURE_APP.tenant}",kind="${kind}"} ${count}`,
      );
    }
    expect(text).toContain(
      `pharos_http_requests_total{listener="public",route="/collect/:appKey",status="202",code=""} ${collectRequests.length}`,
    );
    expect(text).toContain(
      `pharos_idempotency_requests_total{tenant="${FIXTURE_APP.tenant}",outcome="duplicate"} ${retriesOfAcceptedBatches}`,
    );
  });
});
