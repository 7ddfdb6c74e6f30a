import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchingBudget } from './batching-budget.js';
import { createDeliverySink, type DeliverySink, type SendOutcome } from './index.js';
import {
  fakeBatch,
  FakeProtocol,
  offerNow,
  testDeps,
  testOptions,
  waitUntil,
} from './testing/fake-protocol.js';

/** A share whose pushes are recorded; `busy` makes it refuse to push early. */
function member(budget: BatchingBudget, name: string, pushed: string[], busy = () => false) {
  return budget.join(
    () => pushed.push(name),
    () => !busy(),
  );
}

describe('BatchingBudget', () => {
  it('asks the queue holding the most to push once the total passes the limit', () => {
    const pushed: string[] = [];
    const budget = new BatchingBudget(1000, 100);
    const small = member(budget, 'small', pushed);
    const large = member(budget, 'large', pushed);
    small.add(300);
    large.add(600);
    expect(pushed).toEqual([]);
    small.add(200); // 1,100 > 1,000: large holds 600, small 500
    expect(pushed).toEqual(['large']);
    expect(budget.waitingBytes).toBe(1100);
  });

  it('asks one queue at a time until that queue has taken its units', () => {
    const pushed: string[] = [];
    const budget = new BatchingBudget(1000, 100);
    const a = member(budget, 'a', pushed);
    const b = member(budget, 'b', pushed);
    a.add(900);
    b.add(200);
    b.add(200);
    expect(pushed).toEqual(['a']);
    a.remove(900); // a took its units for a push
    b.add(700); // b: 1,100 alone
    expect(pushed).toEqual(['a', 'b']);
  });

  it('skips queues that cannot push now and queues below the smallest early push', () => {
    const pushed: string[] = [];
    const budget = new BatchingBudget(1000, 400);
    let pushing = true;
    member(budget, 'pushing', pushed, () => pushing).add(800);
    const tiny = member(budget, 'tiny', pushed);
    tiny.add(300); // over the limit; the only free queue holds less than 400
    expect(pushed).toEqual([]);
    pushing = false;
    // After a scan that found nothing, the next 100 arrivals do not scan again.
    for (let arrival = 0; arrival < 100; arrival++) tiny.add(1);
    expect(pushed).toEqual([]);
    tiny.add(1);
    expect(pushed).toEqual(['pushing']);
  });

  it('does not scan every queue on every arrival while none can push', () => {
    const budget = new BatchingBudget(1000, 100);
    let asked = 0;
    const shares = Array.from({ length: 50 }, () =>
      budget.join(
        () => undefined,
        () => {
          asked++;
          return false; // every backend down, every queue backing off
        },
      ),
    );
    for (let arrival = 0; arrival < 1000; arrival++) shares[arrival % 50]!.add(100);
    // Over the bound from the 11th arrival on: one scan of 50 queues per 101 arrivals.
    expect(asked).toBeLessThanOrEqual(10 * 50);
    expect(asked).toBeGreaterThan(0);
  });

  it('forgets a queue that leaves, with its bytes', () => {
    const pushed: string[] = [];
    const budget = new BatchingBudget(1000, 100);
    const gone = member(budget, 'gone', pushed);
    gone.add(900);
    gone.leave();
    expect(budget.waitingBytes).toBe(0);
    const other = member(budget, 'other', pushed);
    other.add(900);
    expect(pushed).toEqual([]);
    other.add(200);
    expect(pushed).toEqual(['other']);
  });

  it('refuses a limit that is not positive', () => {
    expect(() => new BatchingBudget(0)).toThrow(/positive/);
  });
});

describe('delivery sinks sharing a batching budget', () => {
  let dir: string;
  const opened: DeliverySink[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pharos-budget-'));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((sink) => sink.close()));
    await rm(dir, { recursive: true, force: true });
  });

  // Batches that would wait a minute to fill: without the budget nothing is pushed.
  const waitsAMinute = { maxItems: 1000, maxBytes: 1_000_000, maxAgeMs: 60_000 };

  async function openSinks(budget: BatchingBudget | undefined, count: number) {
    const protocols = Array.from({ length: count }, () => new FakeProtocol());
    const sinks = await Promise.all(
      protocols.map((protocol, index) =>
        createDeliverySink(
          protocol,
          testOptions(join(dir, String(index)), {
            tenantId: `t${index}`,
            maxQueueBytes: 1_000_000,
            batch: waitsAMinute,
          }),
          { ...testDeps(), ...(budget ? { batchingBudget: budget } : {}) },
        ),
      ),
    );
    opened.push(...sinks);
    return { protocols, sinks };
  }

  it('pushes quiet tenants early once together they hold more than the budget', async () => {
    const budget = new BatchingBudget(1850, 500);
    const { protocols, sinks } = await openSinks(budget, 3);
    // 3 × 6 units of 100 bytes: 1,800 bytes, within the budget.
    for (let seq = 0; seq < 18; seq++) offerNow(sinks[seq % 3]!, fakeBatch(seq, { bytes: 100 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(protocols.map((protocol) => protocol.calls.length)).toEqual([0, 0, 0]);
    // One more for the first tenant: 1,900 bytes. The largest queue (the first, 700 bytes)
    // pushes everything it holds.
    offerNow(sinks[0]!, fakeBatch(18, { bytes: 100 }));
    await waitUntil(() => protocols[0]!.calls.length === 1, 4000, 'an early push');
    expect(protocols[0]!.deliveredSeqs()).toEqual([0, 3, 6, 9, 12, 15, 18]);
    expect(budget.waitingBytes).toBe(1200);
    expect(protocols[1]!.calls.length + protocols[2]!.calls.length).toBe(0);
  });

  it('keeps the batch age limit when there is no budget', async () => {
    const { protocols, sinks } = await openSinks(undefined, 2);
    for (let seq = 0; seq < 40; seq++) offerNow(sinks[seq % 2]!, fakeBatch(seq, { bytes: 100 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(protocols.map((protocol) => protocol.calls.length)).toEqual([0, 0]);
  });

  it('does not push a tenant early while its backend is backing off', async () => {
    const budget = new BatchingBudget(1000, 100);
    const { protocols, sinks } = await openSinks(budget, 2);
    const down: SendOutcome = { status: 'retry', reason: 'http_503' };
    protocols[0]!.backend = () => down;
    for (let seq = 0; seq < 12; seq++) offerNow(sinks[0]!, fakeBatch(seq, { bytes: 100 }));
    // Over the budget: the first tenant is pushed early, fails and backs off.
    await waitUntil(() => protocols[0]!.calls.length >= 1, 4000, 'a failed push');
    // Its failing units were taken for the push and no longer count.
    expect(budget.waitingBytes).toBe(0);
    for (let seq = 100; seq < 111; seq++) offerNow(sinks[1]!, fakeBatch(seq, { bytes: 100 }));
    await waitUntil(() => protocols[1]!.calls.length === 1, 4000, 'the second tenant pushed');
    expect(protocols[1]!.deliveredSeqs()).toHaveLength(11);
  });
});
