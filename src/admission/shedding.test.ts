import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLoadShedder, type LoadShedder } from './shedding.js';

function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Busy: nothing else runs, as under a CPU-bound burst of requests.
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(20);
  }
  return Date.now() - started;
}

async function gauge(registry: Registry, name: string): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  return (await metric?.get())?.values[0]?.value;
}

describe('load shedding on event-loop delay', () => {
  let shedder: LoadShedder | undefined;
  afterEach(() => shedder?.close());

  it('measures nothing before start(), and sheds nothing in the first window after it', async () => {
    shedder = createLoadShedder({ maxEventLoopDelayMs: 300 });
    const current = shedder;
    await sleep(50); // long enough for a sampler that was (wrongly) running to record the stall
    blockEventLoop(500);
    await sleep(250);
    expect(current.overloaded).toBe(false);
    expect(current.delayMs).toBe(0);
    current.start();
    await sleep(250);
    // The 500 ms stall before start() is not in the reading (this machine's own noise may be).
    expect(current.delayMs).toBeLessThan(300);
    // A stall in the first window after start() is measured, not shed.
    blockEventLoop(400);
    await waitFor(() => current.delayMs > 300, 300);
    expect(current.overloaded).toBe(false);
  });

  it('sheds while the event loop is blocked, says so in metrics, and recovers when it is not', async () => {
    const registry = new Registry();
    // Coarse sampling (at most 20 samples a window): the p99 is the largest sample, so a single
    // stall shows whatever the phase of the windows. Lag that recurs, at the default resolution,
    // is the next test but one.
    shedder = createLoadShedder({
      maxEventLoopDelayMs: 200,
      metricsRegistry: registry,
      resolutionMs: 50,
    });
    shedder.start();
    const current = shedder;
    await sleep(1050); // the first window after start() is a grace period
    blockEventLoop(450);
    // The first timer turn after the block records it; the reading follows within a refresh.
    await waitFor(() => current.overloaded, 300);
    // The reading is the sampled delay less one resolution, so where the 450 ms block falls in the
    // 50 ms sampling period moves it by up to a period (399.8 ms has been seen).
    expect(current.delayMs).toBeGreaterThan(350);
    expect(current.message()).toMatch(
      /^Pharos is overloaded: its event-loop delay \(p99 over the last second\) is \d+ ms, over 200 ms; retry after 2 s$/,
    );
    expect(await gauge(registry, 'pharos_load_shedding')).toBe(1);
    expect(await gauge(registry, 'pharos_event_loop_delay_seconds')).toBeGreaterThan(0.35);

    // The stall leaves the reading about a window after it (2 s leaves room for a loaded machine).
    const recoveredAfter = await waitFor(() => !current.overloaded, 4000);
    expect(recoveredAfter).toBeLessThan(2500);
    expect(await gauge(registry, 'pharos_load_shedding')).toBe(0);
  });

  it("sees a stall that spans the windows' resets", async () => {
    shedder = createLoadShedder({ maxEventLoopDelayMs: 100, resolutionMs: 50 });
    shedder.start();
    const current = shedder;
    // The windows reset every 500 ms, alternately; after the grace window, this stall spans two.
    await sleep(1300);
    blockEventLoop(850);
    // Resetting the windows right after the stall, before the samplers record it, would lose it.
    await waitFor(() => current.overloaded, 300);
    expect(current.delayMs).toBeGreaterThan(700);
  });

  it('keeps shedding while the loop keeps lagging', async () => {
    shedder = createLoadShedder({ maxEventLoopDelayMs: 100 });
    shedder.start();
    const current = shedder;
    await sleep(1050);
    const seen: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      blockEventLoop(250);
      await sleep(30);
      seen.push(current.overloaded);
    }
    // After the first lag is seen, every later reading sees lag too.
    expect(seen.slice(2).every(Boolean)).toBe(true);
    // And once the loop runs freely, the reading recovers within about a window.
    expect(await waitFor(() => !current.overloaded, 4000)).toBeLessThan(2500);
  });

  it('never sheds with maxEventLoopDelay 0, but still measures', async () => {
    shedder = createLoadShedder({ maxEventLoopDelayMs: 0, resolutionMs: 50 });
    shedder.start();
    const current = shedder;
    await sleep(1050); // past the grace window
    blockEventLoop(200);
    await waitFor(() => current.delayMs > 150, 300);
    expect(current.overloaded).toBe(false);
  });
});
