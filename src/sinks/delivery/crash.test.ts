import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createDeliverySink } from './index.js';
import {
  FakeProtocol,
  metricValue,
  testDeps,
  testOptions,
  waitUntil,
} from './testing/fake-protocol.js';

const CHILD = fileURLToPath(new URL('./testing/crash-child.ts', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pharos-crash-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the child until it has acknowledged `acks` units, then kills it with SIGKILL. */
async function crashAfter(acks: number): Promise<{ acked: Set<number>; received: Set<number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, '1000000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acked = new Set<number>();
  const received = new Set<number>();
  let buffered = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [word, rest = ''] = line.split(' ');
      if (word === 'ack') acked.add(Number(rest));
      if (word === 'recv') for (const seq of rest.split(',')) received.add(Number(seq));
    }
    if (acked.size >= acks) child.kill('SIGKILL');
  });
  expect(await exited).toBe('SIGKILL');
  return { acked, received };
}

it('after SIGKILL in disk mode, every acknowledged unit is delivered; duplicates are counted', async () => {
  const { acked, received } = await crashAfter(600);
  expect(acked.size).toBeGreaterThanOrEqual(600);

  const protocol = new FakeProtocol();
  const deps = testDeps();
  const sink = await createDeliverySink(protocol, testOptions(dir, { durability: 'disk' }), deps);
  await waitUntil(() => sink.stats().spoolBytes === 0, 4000, 'the spool to drain');
  await sink.close();

  const delivered = protocol.deliveredSeqs();
  // In order, without garbage and without duplicates of its own.
  for (let index = 1; index < delivered.length; index++)
    expect(delivered[index]).toBeGreaterThan(delivered[index - 1] as number);
  for (const value of protocol.delivered) expect(value.text).toBe(String(value.seq));
  // Nothing acknowledged is lost: the old backend had it, or the new one got it.
  const deliveredSet = new Set(delivered);
  const lost = [...acked].filter((seq) => !received.has(seq) && !deliveredSet.has(seq));
  expect(lost).toEqual([]);
  // Units the old backend may have had are counted as redelivered: all real duplicates, plus at
  // most the one push that was marked as sent but not yet received when the kill came.
  const duplicates = delivered.filter((seq) => received.has(seq)).length;
  // The acknowledged position is kept up to date: a crash repeats a few pushes, not the spool.
  expect(duplicates).toBeLessThanOrEqual(200);
  const redelivered = await metricValue(deps.metrics, 'pharos_sink_items_redelivered_total', {
    sink: 'fake',
    kind: 'log',
  });
  expect(redelivered).toBeGreaterThanOrEqual(duplicates);
  expect(redelivered).toBeLessThanOrEqual(duplicates + 20);
});
