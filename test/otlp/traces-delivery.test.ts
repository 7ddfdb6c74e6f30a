import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/index.js';
import { createDeliverySink } from '../../src/sinks/delivery/index.js';
import { createTracesProtocol } from '../../src/sinks/otlp/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import {
  CLICK_FETCH_FIXTURE,
  PLAIN_FETCH_FIXTURE,
  batchOf,
  expectedSpan,
  fixturePayload,
  spansOf,
  viewOf,
} from './support.js';

/**
 * The traces protocol inside the real delivery framework, with every unit on disk: the spool
 * format (serialize/deserialize) and the retry classification are exercised as in production.
 */
describe('traces protocol in the delivery framework', () => {
  let receiver: OtlpReceiver;
  let spoolDir: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    spoolDir = mkdtempSync(join(tmpdir(), 'pharos-traces-spool-'));
  });
  afterAll(async () => {
    await receiver.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('keeps spans through an outage and a restart (read back from the spool), then delivers them once', async () => {
    const open = () =>
      createDeliverySink(
        createTracesProtocol({ url: receiver.url, orgId: 'acme' }),
        {
          tenantId: 'acme',
          spoolDir,
          durability: 'disk',
          maxQueueBytes: 1024 * 1024,
          maxSpoolBytes: 8 * 1024 * 1024,
          batch: { maxItems: 100, maxBytes: 1024 * 1024, maxAgeMs: 20 },
          retry: { initialDelayMs: 20, maxDelayMs: 100, multiplier: 2, jitter: 0 },
          requestTimeoutMs: 2000,
        },
        { metrics: createMetrics('test'), logger: pino({ level: 'silent' }) },
        { drainTimeoutMs: 100 },
      );
    const payloads = [fixturePayload(CLICK_FETCH_FIXTURE), fixturePayload(PLAIN_FETCH_FIXTURE)];

    await receiver.down();
    const before = await open();
    for (const payload of payloads) {
      const batch = batchOf(payload);
      expect(before.hasRoom(batch)).toBe(true);
      await before.offer(batch);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    await before.close();

    // A new process: the units exist only in the spool now.
    receiver.respondWith({ status: 503, headers: { 'retry-after': '0' } });
    await receiver.up();
    const after = await open();
    try {
      const spans = await receiver.waitForSpans(2, 10_000);
      const sent = payloads.flatMap((payload) => spansOf(payload.traces?.resourceSpans));
      expect(spans.map(viewOf)).toEqual(sent.map(expectedSpan));
      expect(
        spans.every((span) => span.resourceAttributes['pharos.tenant']?.stringValue === 'acme'),
      ).toBe(true);
      expect(receiver.attempts.map((attempt) => attempt.answeredWith)).toContain(503);
      expect(receiver.errors).toEqual([]);
      await after.flush();
      expect(receiver.spans()).toHaveLength(2);
    } finally {
      await after.close();
    }
  });
});
