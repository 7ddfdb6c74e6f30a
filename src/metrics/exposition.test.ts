import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { metricsChunks, metricsText } from './exposition.js';
import { createMetrics } from './metrics.js';
import { TalliedCounter } from './tallied-counter.js';
import { TalliedHistogram } from './tallied-histogram.js';

/** The same metrics in two registries: one with tallied ones, one all prom-client. */
function twoRegistries() {
  const registries = [new Registry(), new Registry()] as const;
  registries.forEach((registry, i) => {
    const counterConfig = {
      name: 'c_total',
      help: 'a counter',
      labelNames: ['k', 'n'] as const,
      registers: [registry],
    };
    const counter = i === 0 ? new TalliedCounter(counterConfig) : new Counter(counterConfig);
    // Not every label: prom-client's own series, listed first (so first here, too).
    counter.inc({ k: 'a\\b\nc' }, 0.5);
    counter.labels('x"y', '1').inc(2);
    counter.inc({ n: 7, k: 'z' }, 1e308);
    counter.labels('z', '7').inc(1e308); // the same series: overflows to +Inf
    counter.labels('w', '').inc(0);
    new (i === 0 ? TalliedCounter : Counter)({
      name: 'empty_total',
      help: 'nothing counted',
      labelNames: ['x'],
      registers: [registry],
    }).labels('made, never incremented');
    new Gauge({ name: 'g', help: 'a gauge\nwith a newline', registers: [registry] }).set(-1.5);
    const config = {
      name: 'h_seconds',
      help: 'a histogram',
      labelNames: ['tenant', 'app'] as const,
      buckets: [0.1, 1, 10],
      registers: [registry],
    };
    const histogram = i === 0 ? new TalliedHistogram(config) : new Histogram(config);
    histogram.labels('t1', 'a\\1').observe(0.1);
    histogram.labels('t1', 'a2').observe(1e308);
    histogram.labels('t1', 'a2').observe(1e308); // the sum overflows to +Inf
    // A histogram with no series at all: its header only.
    new (i === 0 ? TalliedHistogram : Histogram)({
      name: 'empty_seconds',
      help: 'nothing observed',
      labelNames: ['x'],
      registers: [registry],
    });
    new Summary({ name: 's', help: 'a summary', registers: [registry] }).observe(1);
  });
  return registries;
}

/** Counts the turns of the event loop from now until `stop()`. */
function turnCounter(): { stop(): number } {
  let turns = 0;
  let counting = true;
  const count = () => {
    if (!counting) return;
    turns++;
    setImmediate(count);
  };
  setImmediate(count);
  return {
    stop() {
      counting = false;
      return turns;
    },
  };
}

describe('metricsText', () => {
  it('writes what prom-client writes for a registry of every kind of metric', async () => {
    const [tallied, plain] = twoRegistries();
    const expected = await plain.metrics();
    expect(await metricsText(tallied)).toBe(expected);
    expect(expected).toContain('h_seconds_sum{tenant="t1",app="a2"} +Inf');
    expect(expected).toContain('h_seconds_bucket{le="0.1",tenant="t1",app="a\\\\1"} 1');
    expect(expected).toContain(
      'c_total{k="a\\\\b\\nc"} 0.5\nc_total{k="x\\"y",n="1"} 2\nc_total{n="7",k="z"} +Inf\n',
    );
    expect(expected).toContain('# TYPE empty_total counter\n\n');
  });

  it('falls back to prom-client with default labels, which it does not write itself', async () => {
    const [tallied, plain] = twoRegistries();
    for (const registry of [tallied, plain]) registry.setDefaultLabels({ instance: 'i1' });
    const text = await metricsText(tallied);
    expect(text).toBe(await plain.metrics());
    expect(text).toContain('h_seconds_count{instance="i1",tenant="t1",app="a2"} 2');
  });

  it('lets the event loop turn while it writes thousands of series, and writes each once', async () => {
    const registry = new Registry();
    const histogram = new TalliedHistogram({
      name: 'h_seconds',
      help: 'a histogram',
      labelNames: ['tenant'],
      buckets: [1],
      registers: [registry],
    });
    for (let i = 0; i < 2000; i++) histogram.labels(`t${i}`).observe(1);
    const turns = turnCounter();
    const rendering = metricsText(registry);
    // A series observed once the scrape has begun is listed too.
    histogram.labels('late').observe(1);
    const text = await rendering;
    expect(turns.stop()).toBeGreaterThanOrEqual(4); // 2,001 series, 200 a slice
    const counts = text.split('\n').filter((line) => line.startsWith('h_seconds_count{'));
    expect(counts).toHaveLength(2001);
    expect(new Set(counts).size).toBe(2001);
  });

  it("writes a tallied counter's series in slices, with turns of the event loop between", async () => {
    const registry = new Registry();
    const counter = new TalliedCounter({
      name: 'c_total',
      help: 'a counter',
      labelNames: ['tenant'],
      registers: [registry],
    });
    for (let i = 0; i < 2000; i++) counter.labels(`t${i}`).inc(i);
    const turns = turnCounter();
    const chunks: string[] = [];
    const rendering = (async () => {
      for await (const chunk of metricsChunks(registry)) chunks.push(chunk);
    })();
    counter.labels('late').inc(); // incremented once the scrape has begun: listed too
    await rendering;
    const turnsTaken = turns.stop();
    expect(chunks.length).toBeGreaterThanOrEqual(10); // 2,001 series, 200 a slice
    expect(turnsTaken).toBeGreaterThanOrEqual(8);
    const lines = chunks.join('').split('\n');
    expect(lines.filter((line) => line.startsWith('c_total{'))).toHaveLength(2001);
    expect(lines).toContain('c_total{tenant="t1999"} 1999');
    expect(lines).toContain('c_total{tenant="late"} 1');
  });

  it("streams Pharos's registry in pieces, or whatever replaced registry.metrics (--workers)", async () => {
    const metrics = createMetrics('test');
    for (let i = 0; i < 500; i++) metrics.httpDuration.labels('public', `/r${i}`).observe(0.002);
    const chunks: string[] = [];
    for await (const chunk of metrics.exposition()) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(metrics.registry.getMetricsAsArray().length);
    const family = (text: string) =>
      text.split('\n').filter((line) => line.includes('pharos_http_request_duration_seconds'));
    expect(family(chunks.join(''))).toEqual(
      family(await Registry.prototype.metrics.call(metrics.registry)),
    );

    metrics.registry.metrics = () => Promise.resolve('cluster text\n');
    const replaced: string[] = [];
    for await (const chunk of metrics.exposition()) replaced.push(chunk);
    expect(replaced).toEqual(['cluster text\n']);
  });

  it("serves Pharos's registry: /metrics reads metricsText", async () => {
    const metrics = createMetrics('test');
    metrics.httpDuration.labels('public', '/collect').observe(0.002);
    // Only this family: the default metrics (CPU, memory) change between two reads.
    const family = (text: string) =>
      text.split('\n').filter((line) => line.includes('pharos_http_request_duration_seconds'));
    const text = await metrics.registry.metrics();
    expect(family(text)).toEqual(family(await Registry.prototype.metrics.call(metrics.registry)));
    expect(text).toContain(
      'pharos_http_request_duration_seconds_bucket{le="0.0025",listener="public",route="/collect"} 1',
    );
  });
});
