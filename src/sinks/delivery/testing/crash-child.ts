/**
 * Child process of the crash test: offers units to a disk-durable sink as fast as it can and
 * prints `ack <seq>` when an offer resolves (the unit is on disk: the 202 would go out now), and
 * `recv <seq,...>` when the backend receives a push. It runs until it is killed with SIGKILL.
 *
 * Usage: node --import tsx crash-child.ts <spoolDir> <count>
 */
import { createDeliverySink } from '../index.js';
import { fakeBatch, FakeProtocol, testDeps, testOptions } from './fake-protocol.js';

const [dir, countText] = process.argv.slice(2);
if (dir === undefined || countText === undefined)
  throw new Error('usage: crash-child <dir> <count>');
const count = Number(countText);

const protocol = new FakeProtocol(async (values) => {
  // Pipes are synchronous on Linux: once written, the line survives a SIGKILL.
  process.stdout.write(`recv ${values.map((value) => value.seq).join(',')}\n`);
  await new Promise((resolve) => setTimeout(resolve, 2));
  return { status: 'delivered' };
});
const sink = await createDeliverySink(
  protocol,
  testOptions(dir, {
    durability: 'disk',
    maxQueueBytes: 1_000_000,
    maxSpoolBytes: 100_000_000,
    batch: { maxItems: 20, maxBytes: 1_000_000, maxAgeMs: 1 },
  }),
  testDeps(),
  { stateIntervalMs: 20, segmentBytes: 16 * 1024 },
);
process.stdout.write('ready\n');

let next = 0;
async function offerUntilKilled(): Promise<void> {
  while (next < count) {
    const seq = next++;
    await sink.offer(fakeBatch(seq));
    process.stdout.write(`ack ${seq}\n`);
  }
}
await Promise.all(Array.from({ length: 16 }, offerUntilKilled));
setInterval(() => undefined, 1000);
