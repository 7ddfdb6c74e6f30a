import { spawn } from 'node:child_process';
import {
  appendFile,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isPharosError } from '../../errors/index.js';
import { createMetrics } from '../../metrics/index.js';
import {
  createDeliverySink,
  MAX_RETRY_AFTER_MS,
  QueueMemoryLimit,
  type DeliveryDeps,
  type DeliveryOptions,
  type DeliverySink,
  type DeliveryTuning,
  type SendOutcome,
  type SinkProtocol,
} from './index.js';
import { decodeRecord } from './record-format.js';
import { SEGMENT_HEADER_BYTES } from './segment-table.js';
import {
  emptyBatch,
  fakeBatch,
  FakeProtocol,
  metricValue,
  testDeps,
  offerDurably,
  offerNow,
  testOptions,
  waitUntil,
  type FakeValue,
} from './testing/fake-protocol.js';

let dir: string;
const opened: DeliverySink[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pharos-delivery-'));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((sink) => sink.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openSink(
  protocol: FakeProtocol,
  options: DeliveryOptions,
  deps: DeliveryDeps = testDeps(),
  tuning: DeliveryTuning = {},
): Promise<DeliverySink> {
  const sink = await createDeliverySink(protocol, options, deps, tuning);
  opened.push(sink);
  return sink;
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, index) => from + index);
const down: SendOutcome = { status: 'retry', reason: 'http_503' };

/** A backend that is down (retry) until `up()` is called. */
function switchableBackend() {
  let isUp = false;
  return {
    backend: (): SendOutcome => (isUp ? { status: 'delivered' } : down),
    up: () => (isUp = true),
    down: () => (isUp = false),
  };
}

/** Every value in the spool's segment files, in file order. */
function spooledValues(spoolDir: string): FakeValue[] {
  const values: FakeValue[] = [];
  for (const name of readdirSync(spoolDir)
    .filter((file) => file.endsWith('.seg'))
    .sort()) {
    const data = readFileSync(join(spoolDir, name));
    for (let offset = SEGMENT_HEADER_BYTES; offset < data.length;) {
      const decoded = decodeRecord(data, offset);
      if (decoded.status !== 'record') break;
      values.push(JSON.parse(decoded.value.toString()) as FakeValue);
      offset += decoded.size;
    }
  }
  return values;
}

async function lastSegment(spoolDir: string): Promise<string> {
  const segments = (await readdir(spoolDir)).filter((file) => file.endsWith('.seg')).sort();
  return join(spoolDir, segments[segments.length - 1] as string);
}

describe('delivery', () => {
  it('delivers units in order, in pushes bounded by batch.maxItems and batch.maxBytes', async () => {
    const protocol = new FakeProtocol();
    const deps = testDeps();
    const sink = await openSink(
      protocol,
      testOptions(dir, { batch: { maxItems: 10, maxBytes: 450, maxAgeMs: 5 } }),
      deps,
    );
    for (let seq = 0; seq < 35; seq++) offerNow(sink, fakeBatch(seq, { logs: 2, bytes: 100 }));
    await sink.flush();
    expect(protocol.deliveredSeqs()).toEqual(range(0, 35));
    for (const call of protocol.calls) expect(call.values.length).toBeLessThanOrEqual(4);
    expect(
      await metricValue(deps.metrics, 'pharos_sink_items_delivered_total', {
        sink: 'fake',
        tenant: 't1',
        kind: 'log',
      }),
    ).toBe(70);
    expect(
      await metricValue(deps.metrics, 'pharos_sink_requests_total', { outcome: 'delivered' }),
    ).toBe(protocol.calls.length);
  });

  it('waits up to batch.maxAgeMs to fill a push, pushes a full one at once, and flush does not wait', async () => {
    const protocol = new FakeProtocol();
    const sink = await openSink(
      protocol,
      testOptions(dir, { batch: { maxItems: 5, maxBytes: 100_000, maxAgeMs: 300 } }),
    );
    for (const seq of range(0, 3)) offerNow(sink, fakeBatch(seq));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(protocol.calls).toHaveLength(0);
    for (const seq of range(3, 5)) offerNow(sink, fakeBatch(seq));
    await waitUntil(() => protocol.calls.length === 1, 200, 'the full push');
    offerNow(sink, fakeBatch(5));
    await waitUntil(() => protocol.calls.length === 2, 1000, 'the aged push');
    expect(protocol.calls.map((call) => call.values.length)).toEqual([5, 1]);

    const patient = await openSink(
      new FakeProtocol(),
      testOptions(join(dir, 'b'), { batch: { maxItems: 5, maxBytes: 100_000, maxAgeMs: 60_000 } }),
    );
    offerNow(patient, fakeBatch(1));
    await patient.flush();
    expect(patient.stats().memoryUnits).toBe(0);
  });

  it('always has room for a batch with nothing for it, and does not queue it', async () => {
    const protocol = new FakeProtocol(() => down);
    const sink = await openSink(
      protocol,
      testOptions(dir, { maxQueueBytes: 100, maxSpoolBytes: 100 }),
    );
    offerNow(sink, fakeBatch(1, { bytes: 100 }));
    offerNow(sink, fakeBatch(2, { bytes: 100 }));
    expect(sink.hasRoom(fakeBatch(3, { bytes: 100 }))).toBe(false);
    expect(sink.hasRoom(emptyBatch())).toBe(true);
    expect(sink.offer(emptyBatch())).toBeUndefined();
    expect(sink.stats().memoryUnits).toBe(1);
  });
});

describe('memory held after delivery', () => {
  /** V8's collector, exposed at run time (the test process is not started with --expose-gc). */
  function collectGarbage(): void {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  }

  it('keeps no delivered unit alive while the sender waits for the next batch', async () => {
    // A protocol that keeps nothing itself: whatever still holds the unit is the sink's.
    const selected: WeakRef<object>[] = [];
    let pushes = 0;
    const protocol: SinkProtocol<{ text: string }> = {
      kind: 'weak',
      select() {
        const value = { text: 'x'.repeat(1000) };
        selected.push(new WeakRef(value));
        return { value, bytes: 1000, items: { log: 1 } };
      },
      serialize: (value) => Buffer.from(value.text),
      deserialize: (data) => ({ text: data.toString() }),
      send: () => {
        pushes++;
        return Promise.resolve({ status: 'delivered' });
      },
    };
    const sink = await createDeliverySink(protocol, testOptions(dir), testDeps());
    opened.push(sink);
    offerNow(sink, fakeBatch(1));
    await sink.flush();
    expect(pushes).toBe(1);
    // Let the sender settle into waiting for the next batch, then collect.
    await new Promise((resolve) => setTimeout(resolve, 20));
    collectGarbage();
    expect(selected[0]?.deref()).toBeUndefined();
  });

  it('holds nothing per wait: a sender that has waited 20,000 times holds no more than one that waited 200', async () => {
    // Every retry of a push that failed waits out a backoff. With an immediate sleep, a backend
    // that refuses the first `failures` pushes makes the sender wait that many times, then
    // deliver and settle into waiting for the next batch. Racing a promise that lives as long as
    // the sender (the stop) left a reaction on it per wait: ~330 bytes each, for good.
    async function heapAfterRetries(failures: number): Promise<number> {
      let pushes = 0;
      const protocol: SinkProtocol<{ seq: number }> = {
        kind: 'retries',
        select: (batch) => ({ value: { seq: batch.itemCount }, bytes: 10, items: { log: 1 } }),
        serialize: (value) => Buffer.from(JSON.stringify(value)),
        deserialize: (data) => JSON.parse(data.toString()) as { seq: number },
        send: () => Promise.resolve(++pushes > failures ? { status: 'delivered' } : down),
      };
      const sink = await createDeliverySink(protocol, testOptions(dir), {
        ...testDeps(),
        sleep: () => Promise.resolve(),
      });
      opened.push(sink);
      offerNow(sink, fakeBatch(1));
      await waitUntil(() => pushes > failures, 10_000, 'the delivery after the retries');
      await sink.flush();
      collectGarbage();
      const heapUsed = process.memoryUsage().heapUsed;
      await sink.close();
      return heapUsed;
    }

    await heapAfterRetries(200); // compiled code and one-time state
    collectGarbage();
    const few = await heapAfterRetries(200);
    const many = await heapAfterRetries(20_000);
    // The leak made this 6.5 MB; what is left is noise.
    expect(many - few).toBeLessThan(1024 * 1024);
  });
});

describe('memory and spool', () => {
  it('overflows to the spool when memory is full, keeps FIFO order, and returns to memory once drained', async () => {
    const { backend, up, down: goDown } = switchableBackend();
    const protocol = new FakeProtocol(backend);
    const sink = await openSink(protocol, testOptions(dir, { maxQueueBytes: 500 }));
    for (const seq of range(0, 20)) offerNow(sink, fakeBatch(seq, { bytes: 100 }));
    expect(sink.stats().memoryUnits).toBe(5);
    await waitUntil(() => sink.stats().spoolWrites > 0, 2000, 'the overflow write');
    expect(spooledValues(dir).map((value) => value.seq)).toEqual(range(5, 20));

    // While the spool drains, new units go behind it, not into memory.
    up();
    let seq = 20;
    for (; seq < 60; seq++) {
      const spoolInUse = sink.stats().spoolBytes > 0;
      const inMemory = sink.stats().memoryUnits;
      offerNow(sink, fakeBatch(seq, { bytes: 100 }));
      if (spoolInUse) expect(sink.stats().memoryUnits).toBeLessThanOrEqual(inMemory);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await waitUntil(() => protocol.delivered.length === seq, 4000, 'delivery');
    expect(protocol.deliveredSeqs()).toEqual(range(0, seq));
    expect(sink.stats().spoolBytes).toBe(0);

    // Drained: the next units stay in memory.
    goDown();
    for (const next of range(seq, seq + 3)) offerNow(sink, fakeBatch(next, { bytes: 100 }));
    expect(sink.stats().memoryUnits).toBe(3);
    expect(sink.stats().spoolBytes).toBe(0);
    up();
    await sink.flush();
    expect(protocol.deliveredSeqs()).toEqual(range(0, seq + 3));
  });

  it('keeps the memory queues of all tenants within the process-wide limit, spooling the rest', async () => {
    const shared = new QueueMemoryLimit(1000);
    const tenants = ['a', 'b'].map((tenantId) => {
      const { backend, up } = switchableBackend();
      return { protocol: new FakeProtocol(backend), up, tenantId };
    });
    const sinks = await Promise.all(
      tenants.map(({ protocol, tenantId }) =>
        openSink(
          protocol,
          // Each queue alone could hold all its units in memory.
          testOptions(join(dir, tenantId), { tenantId, maxQueueBytes: 100_000 }),
          { ...testDeps(), queueMemoryLimit: shared },
        ),
      ),
    );
    for (const seq of range(0, 16)) offerNow(sinks[seq % 2]!, fakeBatch(seq, { bytes: 100 }));
    const inMemory = sinks.reduce((sum, sink) => sum + sink.stats().memoryBytes, 0);
    expect(inMemory).toBe(1000);
    expect(shared.bytes).toBe(1000);
    await waitUntil(
      () => sinks.every((sink) => sink.stats().spoolWrites > 0),
      2000,
      'both overflows written',
    );
    for (const tenant of tenants) tenant.up();
    await waitUntil(
      () => tenants.every(({ protocol }) => protocol.delivered.length === 8),
      4000,
      'delivery',
    );
    expect(tenants[0]!.protocol.deliveredSeqs()).toEqual(range(0, 16).filter((n) => n % 2 === 0));
    expect(tenants[1]!.protocol.deliveredSeqs()).toEqual(range(0, 16).filter((n) => n % 2 === 1));
    expect(shared.bytes).toBe(0);
  });

  it('says no room once memory and spool are full, and yes again once the backend is back', async () => {
    const { backend, up } = switchableBackend();
    const protocol = new FakeProtocol(backend);
    const deps = testDeps();
    const sink = await openSink(
      protocol,
      testOptions(dir, { maxQueueBytes: 300, maxSpoolBytes: 2000 }),
      deps,
    );
    let accepted = 0;
    while (sink.hasRoom(fakeBatch(accepted, { bytes: 100 }))) {
      offerNow(sink, fakeBatch(accepted, { bytes: 100 }));
      accepted++;
      expect(accepted).toBeLessThan(100);
    }
    expect(accepted).toBeGreaterThan(3 + 5);
    expect(sink.stats().memoryUnits).toBe(3);
    // Still full later (retries keep every unit), and the queue gauge says where the bytes are.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sink.hasRoom(fakeBatch(999, { bytes: 100 }))).toBe(false);
    expect(
      await metricValue(deps.metrics, 'pharos_sink_queue_bytes', { sink: 'fake', where: 'memory' }),
    ).toBe(300);
    expect(
      await metricValue(deps.metrics, 'pharos_sink_queue_bytes', { sink: 'fake', where: 'spool' }),
    ).toBeGreaterThan(1500);

    up();
    await waitUntil(() => sink.hasRoom(fakeBatch(999, { bytes: 100 })), 4000, 'room');
    await sink.flush();
    expect(protocol.deliveredSeqs()).toEqual(range(0, accepted));
    expect(await metricValue(deps.metrics, 'pharos_sink_queue_bytes', { where: 'spool' })).toBe(0);
  });

  it('rolls spool segments and deletes them once delivered', async () => {
    const { backend, up } = switchableBackend();
    const protocol = new FakeProtocol(backend);
    const sink = await openSink(protocol, testOptions(dir, { durability: 'disk' }), testDeps(), {
      segmentBytes: 1024,
    });
    // Rounds: a segment rolls between group commits, never inside one.
    for (let round = 0; round < 10; round++)
      await Promise.all(
        range(round * 10, round * 10 + 10).map((seq) => offerDurably(sink, fakeBatch(seq))),
      );
    const segments = async () => (await readdir(dir)).filter((file) => file.endsWith('.seg'));
    expect((await segments()).length).toBeGreaterThan(3);
    up();
    await waitUntil(() => sink.stats().spoolBytes === 0, 4000, 'the spool to drain');
    await waitUntil(() => sink.stats().spoolSegments === 1, 1000, 'segments to be dropped');
    expect(protocol.deliveredSeqs()).toEqual(range(0, 100));
    await sink.close();
    expect(await segments()).toHaveLength(1);
  });
});

describe('retries', () => {
  it('retries the same units with exponential backoff, and honours Retry-After (capped)', async () => {
    const script: SendOutcome[] = [
      { status: 'retry', reason: 'http_429', retryAfterMs: 1234 },
      down,
      down,
      down,
      down,
      { status: 'retry', reason: 'http_429', retryAfterMs: 3_600_000 },
      { status: 'delivered' },
    ];
    const protocol = new FakeProtocol(() => script.shift() ?? { status: 'delivered' });
    const backoffs: number[] = [];
    const box: { sink?: DeliverySink } = {};
    const deps: DeliveryDeps = {
      ...testDeps(),
      sleep: (ms) => {
        if (box.sink?.stats().backingOff) backoffs.push(ms);
        return new Promise((resolve) => setImmediate(resolve));
      },
    };
    const sink = (box.sink = await openSink(
      protocol,
      testOptions(dir, {
        retry: { initialDelayMs: 100, maxDelayMs: 500, multiplier: 3, jitter: 0 },
      }),
      deps,
    ));
    for (const seq of range(0, 4)) offerNow(sink, fakeBatch(seq));
    await waitUntil(() => protocol.delivered.length === 4, 2000, 'delivery');
    expect(backoffs).toEqual([1234, 300, 500, 500, 500, MAX_RETRY_AFTER_MS]);
    expect(protocol.calls).toHaveLength(7);
    for (const call of protocol.calls)
      expect(call.values.map((value) => value.seq)).toEqual([0, 1, 2, 3]);
    expect(
      await metricValue(deps.metrics, 'pharos_sink_requests_total', {
        outcome: 'retry',
        reason: 'http_503',
      }),
    ).toBe(4);
  });

  it('gives up on a push that outlives requestTimeoutMs and retries it', async () => {
    let first = true;
    const protocol = new FakeProtocol(
      (_values, signal) =>
        new Promise<SendOutcome>((resolve) => {
          if (!first) return resolve({ status: 'delivered' });
          first = false;
          signal.addEventListener('abort', () => resolve({ status: 'retry', reason: 'timeout' }));
        }),
    );
    const sink = await openSink(protocol, testOptions(dir, { requestTimeoutMs: 50 }));
    offerNow(sink, fakeBatch(1));
    await waitUntil(() => protocol.delivered.length === 1, 2000, 'delivery after the timeout');
    expect(protocol.calls.map((call) => call.outcome.status)).toEqual(['retry', 'delivered']);
  });

  it('flush resolves while the backend is down, once the sender backs off', async () => {
    const protocol = new FakeProtocol(() => down);
    const sink = await openSink(
      protocol,
      testOptions(dir, {
        retry: { initialDelayMs: 60_000, maxDelayMs: 60_000, multiplier: 2, jitter: 0 },
      }),
    );
    offerNow(sink, fakeBatch(1));
    await sink.flush();
    expect(sink.stats().backingOff).toBe(true);
    expect(protocol.calls).toHaveLength(1);
    expect(sink.stats().memoryUnits).toBe(1);
  });
});

describe('rejections', () => {
  it('drops rejected units, counts them per kind with the reason, logs rarely, and goes on', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const deps: DeliveryDeps = { metrics: createMetrics('test'), logger };
    const protocol = new FakeProtocol((values) =>
      (values[0]?.seq ?? 0) < 100
        ? { status: 'rejected', reason: 'http_400', detail: 'entry too far behind' }
        : { status: 'delivered' },
    );
    const sink = await openSink(
      protocol,
      testOptions(dir, { batch: { maxItems: 3, maxBytes: 100_000, maxAgeMs: 1 } }),
      deps,
    );
    for (const seq of range(0, 10)) offerNow(sink, fakeBatch(seq, { logs: 2, exceptions: 1 }));
    await sink.flush();
    for (const seq of range(100, 103)) offerNow(sink, fakeBatch(seq, { logs: 1 }));
    await sink.flush();

    expect(protocol.deliveredSeqs()).toEqual([100, 101, 102]);
    const dropped = (kind: string) =>
      metricValue(deps.metrics, 'pharos_items_dropped_total', {
        tenant: 't1',
        kind,
        sink: 'fake',
        reason: 'http_400',
      });
    expect(await dropped('log')).toBe(20);
    expect(await dropped('exception')).toBe(10);
    expect(
      await metricValue(deps.metrics, 'pharos_sink_requests_total', {
        outcome: 'rejected',
        reason: 'http_400',
      }),
    ).toBeGreaterThanOrEqual(4);
    const warnings = lines.filter((line) => line.includes('rejected'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('entry too far behind');
  });
});

describe('disk durability', () => {
  it('resolves an offer only once its unit is on disk, with one fsync for many offers', async () => {
    const protocol = new FakeProtocol(() => down);
    const sink = await openSink(protocol, testOptions(dir, { durability: 'disk' }));
    let onDisk = new Set<number>();
    const checks = range(0, 300).map(async (seq) => {
      await sink.offer(fakeBatch(seq));
      expect(sink.stats().spoolSyncs).toBeGreaterThan(0);
      if (!onDisk.has(seq)) onDisk = new Set(spooledValues(dir).map((value) => value.seq));
      expect(onDisk.has(seq)).toBe(true);
    });
    await Promise.all(checks);
    expect(sink.stats().spoolSyncs).toBeLessThanOrEqual(3);
    expect(sink.stats().spoolSyncs).toBe(sink.stats().spoolWrites);
  });

  it('sends from the read-ahead cache in order while the backend keeps up', async () => {
    const protocol = new FakeProtocol();
    const sink = await openSink(protocol, testOptions(dir, { durability: 'disk' }));
    for (let round = 0; round < 20; round++)
      await Promise.all(
        range(round * 10, round * 10 + 10).map((seq) => offerDurably(sink, fakeBatch(seq))),
      );
    await waitUntil(() => sink.stats().spoolBytes === 0, 4000, 'delivery');
    expect(protocol.deliveredSeqs()).toEqual(range(0, 200));
  });

  it('moves many units through, in order, with far fewer fsyncs than units (not a speed test)', async () => {
    const protocol = new FakeProtocol();
    const sink = await openSink(
      protocol,
      testOptions(dir, {
        durability: 'disk',
        maxQueueBytes: 1_000_000,
        maxSpoolBytes: 100_000_000,
        batch: { maxItems: 500, maxBytes: 1_000_000, maxAgeMs: 5 },
      }),
      testDeps(),
      { segmentBytes: 256 * 1024 },
    );
    const total = 10_000;
    let next = 0;
    const offerSome = async (): Promise<void> => {
      while (next < total) await sink.offer(fakeBatch(next++));
    };
    await Promise.all(Array.from({ length: 64 }, offerSome));
    await waitUntil(() => protocol.delivered.length === total, 4000, 'delivery');
    expect(protocol.deliveredSeqs()).toEqual(range(0, total));
    expect(sink.stats().spoolSyncs).toBeLessThan(total / 10);
  });
});

describe('shutdown and restart', () => {
  it('spools memory units at close when the backend is dead; the next sink delivers them in order', async () => {
    const deadProtocol = new FakeProtocol(() => down);
    const sink = await openSink(
      deadProtocol,
      testOptions(dir, { maxQueueBytes: 100_000 }),
      testDeps(),
      { drainTimeoutMs: 50 },
    );
    for (const seq of range(0, 25)) offerNow(sink, fakeBatch(seq));
    await sink.flush();
    expect(sink.stats().memoryUnits).toBe(25);
    await sink.close();

    const protocol = new FakeProtocol();
    const deps = testDeps();
    const next = await openSink(protocol, testOptions(dir), deps);
    offerNow(next, fakeBatch(25));
    await waitUntil(() => protocol.delivered.length === 26, 2000, 'delivery');
    expect(protocol.deliveredSeqs()).toEqual(range(0, 26));
    // The first push (10 units) had been sent without a verdict: the backend may have it.
    expect(
      await metricValue(deps.metrics, 'pharos_sink_items_redelivered_total', { kind: 'log' }),
    ).toBe(10);
  });

  it('puts memory units in front of the spool at close, so the order survives the restart', async () => {
    const deadProtocol = new FakeProtocol(() => down);
    const sink = await openSink(
      deadProtocol,
      testOptions(dir, { maxQueueBytes: 500 }),
      testDeps(),
      {
        drainTimeoutMs: 50,
      },
    );
    for (const seq of range(0, 20)) offerNow(sink, fakeBatch(seq, { bytes: 100 }));
    expect(sink.stats().memoryUnits).toBe(5);
    await sink.close();

    const protocol = new FakeProtocol();
    const next = await openSink(protocol, testOptions(dir, { maxQueueBytes: 500 }));
    offerNow(next, fakeBatch(20, { bytes: 100 }));
    await waitUntil(() => protocol.delivered.length === 21, 2000, 'delivery');
    expect(protocol.deliveredSeqs()).toEqual(range(0, 21));

    // And again: a second restart with overflow, after the first head segment was consumed.
    await next.close();
    const third = await openSink(
      new FakeProtocol(() => down),
      testOptions(dir, { maxQueueBytes: 300 }),
      testDeps(),
      {
        drainTimeoutMs: 10,
      },
    );
    for (const seq of range(21, 30)) offerNow(third, fakeBatch(seq, { bytes: 100 }));
    await third.close();
    const last = new FakeProtocol();
    await openSink(last, testOptions(dir));
    await waitUntil(() => last.delivered.length === 9, 2000, 'delivery');
    expect(last.deliveredSeqs()).toEqual(range(21, 30));
  });

  it('lets a push under way finish at close', async () => {
    const protocol = new FakeProtocol(
      () =>
        new Promise<SendOutcome>((resolve) =>
          setTimeout(() => resolve({ status: 'delivered' }), 100),
        ),
    );
    const sink = await openSink(
      protocol,
      testOptions(dir, { batch: { maxItems: 100, maxBytes: 1e6, maxAgeMs: 0 } }),
    );
    for (const seq of range(0, 5)) offerNow(sink, fakeBatch(seq));
    await waitUntil(() => sink.stats().pushInFlight, 1000, 'the push');
    await sink.close();
    expect(protocol.deliveredSeqs()).toEqual(range(0, 5));
    const next = new FakeProtocol();
    const deps = testDeps();
    const reopened = await openSink(next, testOptions(dir), deps);
    await reopened.flush();
    expect(next.calls).toHaveLength(0);
  });

  it('aborts a push that does not finish within the drain time, and keeps its units', async () => {
    const protocol = new FakeProtocol(
      (_values, signal) =>
        new Promise<SendOutcome>((resolve) =>
          signal.addEventListener('abort', () => resolve({ status: 'retry', reason: 'aborted' })),
        ),
    );
    const sink = await openSink(
      protocol,
      testOptions(dir, { requestTimeoutMs: 60_000 }),
      testDeps(),
      {
        drainTimeoutMs: 30,
      },
    );
    for (const seq of range(0, 3)) offerNow(sink, fakeBatch(seq));
    await waitUntil(() => sink.stats().pushInFlight, 1000, 'the push');
    await sink.close();
    const next = new FakeProtocol();
    const deps = testDeps();
    const reopened = await openSink(next, testOptions(dir), deps);
    await reopened.flush();
    expect(next.deliveredSeqs()).toEqual([0, 1, 2]);
    expect(
      await metricValue(deps.metrics, 'pharos_sink_items_redelivered_total', { kind: 'log' }),
    ).toBe(3);
  });

  it('close is idempotent; a closed sink has no room and refuses offers with 503', async () => {
    const sink = await openSink(new FakeProtocol(), testOptions(dir));
    const first = sink.close();
    expect(sink.close()).toBe(first);
    await first;
    expect(sink.hasRoom(fakeBatch(1))).toBe(false);
    let thrown: unknown;
    try {
      offerNow(sink, fakeBatch(1));
    } catch (error) {
      thrown = error;
    }
    expect(isPharosError(thrown) && thrown.statusCode).toBe(503);
    expect(sink.stats().closed).toBe(true);
  });

  it('takes over the lock of a process that died, but not of one that runs', async () => {
    await writeFile(join(dir, 'lock'), String(process.ppid));
    await expect(
      createDeliverySink(new FakeProtocol(), testOptions(dir), testDeps()),
    ).rejects.toThrow(/in use by process/);
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.on('exit', resolve));
    await writeFile(join(dir, 'lock'), String(dead.pid));
    await openSink(new FakeProtocol(), testOptions(dir));
    expect(await readFile(join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
  });

  it('refuses a second sink on a spool that is open', async () => {
    await openSink(new FakeProtocol(), testOptions(dir));
    await expect(
      createDeliverySink(new FakeProtocol(), testOptions(dir), testDeps()),
    ).rejects.toThrow(/already open/);
  });
});

describe('recovery of a damaged spool', () => {
  /** Spools units 0..9 in disk mode with a dead backend; optionally after a push was tried. */
  async function spoolTen(options: { pushed: boolean } = { pushed: false }): Promise<void> {
    const protocol = new FakeProtocol(() => down);
    const sink = await openSink(
      protocol,
      testOptions(dir, {
        durability: 'disk',
        // Not pushed: the batch is neither full nor old before the close.
        batch: options.pushed
          ? { maxItems: 10, maxBytes: 100_000, maxAgeMs: 0 }
          : { maxItems: 100, maxBytes: 100_000, maxAgeMs: 60_000 },
      }),
      testDeps(),
      { drainTimeoutMs: 10 },
    );
    await Promise.all(range(0, 10).map((seq) => offerDurably(sink, fakeBatch(seq))));
    if (options.pushed) await waitUntil(() => protocol.calls.length > 0, 2000, 'a push');
    await sink.close();
    expect(protocol.calls.length > 0).toBe(options.pushed);
  }

  async function deliverAll(): Promise<{
    protocol: FakeProtocol;
    sink: DeliverySink;
    deps: DeliveryDeps;
  }> {
    const protocol = new FakeProtocol();
    const deps = testDeps();
    const sink = await openSink(protocol, testOptions(dir, { durability: 'disk' }), deps);
    await waitUntil(() => sink.stats().spoolBytes === 0, 2000, 'the spool to drain');
    return { protocol, sink, deps };
  }

  it('ignores garbage after the last record and keeps appending after it', async () => {
    await spoolTen();
    await appendFile(
      await lastSegment(dir),
      Buffer.from('\x00\x00\x01\x00garbage that is not a record'),
    );
    const { protocol, sink } = await deliverAll();
    expect(protocol.deliveredSeqs()).toEqual(range(0, 10));
    await sink.offer(fakeBatch(10));
    await waitUntil(() => protocol.delivered.length === 11, 2000, 'the new unit');
    expect(protocol.deliveredSeqs()).toEqual(range(0, 11));
    // The garbage was cut off, not skipped over: the file reads as clean records.
    await sink.close();
    expect(spooledValues(dir).map((value) => value.seq)).toEqual(range(0, 11));
  });

  it('cuts a torn last record off, keeping every record before it', async () => {
    await spoolTen();
    const path = await lastSegment(dir);
    await truncate(path, (await stat(path)).size - 3);
    const { protocol, sink } = await deliverAll();
    expect(protocol.deliveredSeqs()).toEqual(range(0, 9));
    await sink.offer(fakeBatch(10));
    await sink.close();
    expect(spooledValues(dir).map((value) => value.seq)).toEqual([...range(0, 9), 10]);
  });

  it('takes a zero-filled tail (a file extended but not written) for a torn write', async () => {
    await spoolTen();
    await appendFile(await lastSegment(dir), Buffer.alloc(4096));
    const { protocol } = await deliverAll();
    expect(protocol.deliveredSeqs()).toEqual(range(0, 10));
  });

  it('replays the whole spool, counted as redelivered, when the state file is unreadable', async () => {
    await spoolTen();
    await writeFile(join(dir, 'state.json'), '{"version":1,"ack":');
    const { protocol, deps } = await deliverAll();
    expect(protocol.deliveredSeqs()).toEqual(range(0, 10));
    expect(
      await metricValue(deps.metrics, 'pharos_sink_items_redelivered_total', { kind: 'log' }),
    ).toBe(10);
  });

  it('drops and counts a spooled value the protocol cannot read, and delivers the rest', async () => {
    await spoolTen();
    class Picky extends FakeProtocol {
      override deserialize(data: Buffer): FakeValue {
        const value = super.deserialize(data);
        if (value.seq === 3) throw new Error('unknown format');
        return value;
      }
    }
    const protocol = new Picky();
    const deps = testDeps();
    const sink = await openSink(protocol, testOptions(dir, { durability: 'disk' }), deps);
    await waitUntil(() => sink.stats().spoolBytes === 0, 2000, 'the spool to drain');
    expect(protocol.deliveredSeqs()).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(
      await metricValue(deps.metrics, 'pharos_items_dropped_total', {
        kind: 'log',
        reason: 'spool_unreadable',
      }),
    ).toBe(1);
  });

  it('counts as redelivered exactly the units a push had sent before the restart', async () => {
    await spoolTen({ pushed: true });
    const { protocol, deps } = await deliverAll();
    expect(protocol.deliveredSeqs()).toEqual(range(0, 10));
    expect(
      await metricValue(deps.metrics, 'pharos_sink_items_redelivered_total', { kind: 'log' }),
    ).toBe(10);
  });

  it('does not count units that were never pushed as redelivered', async () => {
    await spoolTen({ pushed: false });
    const { protocol, deps } = await deliverAll();
    expect(protocol.deliveredSeqs()).toEqual(range(0, 10));
    expect(
      await metricValue(deps.metrics, 'pharos_sink_items_redelivered_total', { kind: 'log' }),
    ).toBe(0);
  });
});
