import pino from 'pino';
import { createMetrics, type Metrics } from '../../../metrics/index.js';
import type { AcceptedBatch } from '../../../model/index.js';
import type { Sink } from '../../types.js';
import type { DeliveryOptions, SendOutcome, SinkProtocol, Unit } from '../types.js';

/** What the fake sink carries: a sequence number, a little text, and the items it stands for. */
export interface FakeValue {
  readonly seq: number;
  readonly text: string;
}

export interface SendCall {
  readonly values: readonly FakeValue[];
  readonly outcome: SendOutcome;
}

/** Decides the outcome of each push; may wait (a slow backend) and watch the abort signal. */
export type Backend = (
  values: readonly FakeValue[],
  signal: AbortSignal,
) => SendOutcome | Promise<SendOutcome>;

export const deliver: Backend = () => ({ status: 'delivered' });

/**
 * A SinkProtocol for tests. Each batch carries its sequence number in its first log message;
 * `select` turns it into a unit of `logs.length` log items and `bytes` = batch.bytes. The backend
 * function decides each push; every push and every delivered value is recorded.
 */
export class FakeProtocol implements SinkProtocol<FakeValue> {
  readonly kind = 'fake';
  readonly calls: SendCall[] = [];
  readonly delivered: FakeValue[] = [];
  backend: Backend;

  constructor(backend: Backend = deliver) {
    this.backend = backend;
  }

  select(batch: AcceptedBatch): Unit<FakeValue> | undefined {
    const logs = batch.payload.logs ?? [];
    const first = logs[0]?.message;
    if (first === undefined) return undefined;
    const exceptions = batch.payload.exceptions?.length ?? 0;
    return {
      value: { seq: Number(first), text: logs.map((log) => log.message).join(',') },
      bytes: batch.bytes,
      items: exceptions > 0 ? { log: logs.length, exception: exceptions } : { log: logs.length },
    };
  }

  serialize(value: FakeValue): Buffer {
    return Buffer.from(JSON.stringify(value));
  }

  deserialize(data: Buffer): FakeValue {
    return JSON.parse(data.toString('utf8')) as FakeValue;
  }

  async send(values: readonly FakeValue[], signal: AbortSignal): Promise<SendOutcome> {
    const outcome = await this.backend([...values], signal);
    this.calls.push({ values: [...values], outcome });
    if (outcome.status === 'delivered') this.delivered.push(...values);
    return outcome;
  }

  deliveredSeqs(): number[] {
    return this.delivered.map((value) => value.seq);
  }
}

/** A batch whose first log message is `seq`; `logs` items, `bytes` weight. */
export function fakeBatch(
  seq: number,
  options: { logs?: number; exceptions?: number; bytes?: number; tenantId?: string } = {},
): AcceptedBatch {
  const logs = Array.from({ length: options.logs ?? 1 }, (_, index) => ({
    message: index === 0 ? String(seq) : `${seq}.${index}`,
  }));
  const exceptions = Array.from({ length: options.exceptions ?? 0 }, () => ({
    type: 'Error',
    value: 'x',
  }));
  return {
    tenantId: options.tenantId ?? 't1',
    appId: 'app',
    receivedAt: 0,
    payload: exceptions.length > 0 ? { logs, exceptions } : { logs },
    itemCount: logs.length + exceptions.length,
    bytes: options.bytes ?? 100,
  };
}

/** A batch with nothing for the fake sink. */
export function emptyBatch(): AcceptedBatch {
  return {
    tenantId: 't1',
    appId: 'app',
    receivedAt: 0,
    payload: { events: [{ name: 'e' }] },
    itemCount: 1,
    bytes: 50,
  };
}

export function testOptions(
  spoolDir: string,
  overrides: Partial<DeliveryOptions> = {},
): DeliveryOptions {
  return {
    tenantId: 't1',
    spoolDir,
    durability: 'memory',
    maxQueueBytes: 10_000,
    maxSpoolBytes: 1_000_000,
    batch: { maxItems: 10, maxBytes: 100_000, maxAgeMs: 5 },
    retry: { initialDelayMs: 5, maxDelayMs: 50, multiplier: 2, jitter: 0 },
    requestTimeoutMs: 2000,
    ...overrides,
  };
}

export function testDeps(): { metrics: Metrics; logger: pino.Logger } {
  return { metrics: createMetrics('test'), logger: pino({ level: 'silent' }) };
}

/** Value of one labelled series of a counter or gauge (0 when it was never touched). */
export async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find((value) =>
    Object.entries(labels).every(
      ([key, expected]) => String((value.labels as Record<string, unknown>)[key]) === expected,
    ),
  );
  return match?.value ?? 0;
}

/** Polls `condition` until it holds (or fails the test after `timeoutMs`). */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs = 4000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Offers with memory durability, where `offer` returns nothing to wait for. */
export function offerNow(sink: Sink, batch: AcceptedBatch): void {
  void sink.offer(batch);
}

/** Offers and waits until the sink has the unit on disk (disk durability). */
export async function offerDurably(sink: Sink, batch: AcceptedBatch): Promise<void> {
  await sink.offer(batch);
}
