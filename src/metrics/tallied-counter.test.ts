import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TalliedCounter } from './tallied-counter.js';

function pair() {
  const plainRegistry = new Registry();
  const talliedRegistry = new Registry();
  const config = {
    name: 'pharos_test_total',
    help: 'test',
    labelNames: ['tenant', 'kind'] as const,
  };
  return {
    plain: new Counter({ ...config, registers: [plainRegistry] }),
    tallied: new TalliedCounter({ ...config, registers: [talliedRegistry] }),
    plainRegistry,
    talliedRegistry,
  };
}

describe('TalliedCounter', () => {
  it('exports exactly what a prom-client Counter given the same increments exports', async () => {
    const { plain, tallied, plainRegistry, talliedRegistry } = pair();
    for (const counter of [plain, tallied]) {
      counter.labels('acme', 'log').inc();
      counter.labels('acme', 'log').inc(3);
      counter.labels('acme', 'event').inc(0);
      counter.labels({ tenant: 'globex', kind: 'log' }).inc(2);
    }
    // The same lines; the order of series within a family carries no meaning.
    const lines = async (registry: Registry) => (await registry.metrics()).split('\n').sort();
    expect(await lines(talliedRegistry)).toEqual(await lines(plainRegistry));
    expect(await talliedRegistry.metrics()).toContain(
      'pharos_test_total{tenant="acme",kind="log"} 4',
    );
  });

  it('keeps totals across reads: a scrape hands the counts over, it does not reset them', async () => {
    const { tallied, talliedRegistry } = pair();
    const child = tallied.labels('acme', 'log');
    child.inc(2);
    await talliedRegistry.metrics();
    child.inc(5);
    expect(await talliedRegistry.metrics()).toContain(
      'pharos_test_total{tenant="acme",kind="log"} 7',
    );
    expect((await tallied.get()).values).toEqual([
      { value: 7, labels: { tenant: 'acme', kind: 'log' } },
    ]);
  });

  it('refuses what prom-client refuses, where the increment is made', () => {
    const { tallied } = pair();
    expect(() => tallied.labels('acme', 'log').inc(-1)).toThrow(/decrease/);
    expect(() => tallied.labels('acme', 'log').inc(Number.NaN)).toThrow(/not a valid number/);
    expect(() => tallied.labels('acme')).toThrow(/Invalid number of arguments/);
  });
});
