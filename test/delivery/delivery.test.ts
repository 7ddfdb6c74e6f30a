import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRequests, fixtureBody, replayHeaders, type FaroBody } from '../helpers/fixtures.js';
import { startLokiReceiver, type LokiReceiver } from '../helpers/loki-receiver.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { FIXTURE_APP, startTestPharos, type TestPharos } from '../helpers/pharos.js';

function counts(body: FaroBody) {
  let spans = 0;
  for (const resource of body.traces?.resourceSpans ?? [])
    for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
  const lines =
    (body.logs?.length ?? 0) +
    (body.exceptions?.length ?? 0) +
    (body.measurements?.length ?? 0) +
    (body.events?.length ?? 0);
  return { lines, spans };
}

describe('delivery of the captured SDK traffic to Loki and an OTLP traces backend', () => {
  let loki: LokiReceiver;
  let otherLoki: LokiReceiver;
  let traces: OtlpReceiver;
  let pharos: TestPharos;

  beforeAll(async () => {
    [loki, otherLoki, traces] = await Promise.all([
      startLokiReceiver(),
      startLokiReceiver(),
      startOtlpReceiver(),
    ]);
    pharos = await startTestPharos({
      sinks: { loki: { url: loki.url, labels: { cluster: 'eu-1' } }, traces: { url: traces.url } },
      delivery: { batchMaxAge: '50ms' },
      tenants: [
        {
          id: FIXTURE_APP.tenant,
          orgId: 'capture-org',
          apps: [{ id: FIXTURE_APP.app, keys: [FIXTURE_APP.key] }],
        },
        {
          id: 'other',
          sinks: { loki: { url: otherLoki.url, format: 'json' } },
          apps: [{ id: 'other-app', keys: ['other-app-key-0001'] }],
        },
      ],
    });
  });
  afterAll(async () => {
    await pharos.stop();
    await Promise.all([loki.close(), otherLoki.close(), traces.close()]);
  });

  it('delivers every item: each log, exception, measurement and event as a Loki line, each span to the traces backend', async () => {
    let lines = 0;
    let spans = 0;
    for (const captured of collectRequests) {
      const { wire, json } = fixtureBody(captured);
      const response = await request(`${pharos.publicUrl}${captured.path}`, {
        method: 'POST',
        headers: replayHeaders(captured, { newIdempotencyKey: true }),
        body: wire,
      });
      await response.body.dump();
      expect(response.statusCode).toBe(202);
      lines += counts(json).lines;
      spans += counts(json).spans;
    }
    await pharos.flush();
    const entries = await loki.waitForEntries(lines, 15_000);
    const received = await traces.waitForSpans(spans, 15_000);
    expect(entries).toHaveLength(lines);
    expect(received).toHaveLength(spans);
    expect(loki.violations).toEqual([]);
    expect(traces.errors).toEqual([]);

    // The tenant's org id on every push; labels from the small default set plus the configured one.
    expect(new Set(entries.map((entry) => entry.orgId))).toEqual(new Set(['capture-org']));
    const labelNames = new Set(entries.flatMap((entry) => Object.keys(entry.labels)));
    expect([...labelNames].sort()).toEqual([
      'app_environment',
      'app_name',
      'cluster',
      'kind',
      'level',
      'service_name',
    ]);
    expect(new Set(entries.map((entry) => entry.labels.kind))).toEqual(
      new Set(['log', 'exception', 'measurement', 'event']),
    );
    // High-cardinality ids travel as structured metadata, never as labels.
    expect(entries.every((entry) => entry.metadata.session_id !== undefined)).toBe(true);
    expect(entries.some((entry) => entry.metadata.trace_id !== undefined)).toBe(true);
    // Lines are Alloy's logfmt (its exact format is checked in src/sinks/loki).
    const exception = entries.find((entry) => entry.labels.kind === 'exception');
    expect(exception?.line).toMatch(
      /^timestamp="2026-11-25 \S+ \+0000 UTC" kind=exception type=Error value=/,
    );
    expect(exception?.line).toMatch(/ hash=\d+ /);

    for (const span of received) {
      expect(span.request.headers['x-scope-orgid']).toBe('capture-org');
      expect(span.resourceAttributes['pharos.tenant']).toEqual({ stringValue: FIXTURE_APP.tenant });
      expect(span.resourceAttributes['session.id']).toBeDefined();
      expect(span.resourceAttributes['service.name']).toEqual({ stringValue: 'capture-app' });
    }
    expect(otherLoki.entries()).toEqual([]);
  });

  it("sends a tenant's data to its own endpoint, with its own org id and line format", async () => {
    const response = await request(`${pharos.publicUrl}/collect/other-app-key-0001`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        meta: { app: { name: 'other' } },
        logs: [{ message: 'for the other tenant', level: 'info' }],
      }),
    });
    await response.body.dump();
    expect(response.statusCode).toBe(202);
    await pharos.flush();
    const [entry] = await otherLoki.waitForEntries(1, 10_000);
    expect(entry?.orgId).toBe('other');
    expect(JSON.parse(entry?.line ?? '{}')).toMatchObject({
      kind: 'log',
      message: 'for the other tenant',
      app_name: 'other',
    });
    expect(
      loki.entries().some((candidate) => candidate.line.includes('for the other tenant')),
    ).toBe(false);
  });

  it('counts delivered items per sink and tenant in /metrics', async () => {
    const text = await (await fetch(`${pharos.internalUrl}/metrics`)).text();
    expect(text).toMatch(
      new RegExp(
        `pharos_sink_items_delivered_total\\{sink="loki",tenant="${FIXTURE_APP.tenant}",kind="log"\\} \\d+`,
      ),
    );
    expect(text).toMatch(
      new RegExp(
        `pharos_sink_items_delivered_total\\{sink="traces",tenant="${FIXTURE_APP.tenant}",kind="span"\\} \\d+`,
      ),
    );
    expect(text).toMatch(
      /pharos_web_vitals_lcp_seconds_count\{tenant="capture",app="capture-app",environment="test",route="[^"]+",rating="good"\} \d+/,
    );
  });
});
