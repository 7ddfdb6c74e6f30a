import { PharosError } from '../errors/index.js';
import type { AcceptedBatch } from '../model/index.js';
import type { Sink } from './types.js';

/** Seconds a client is told to wait when a sink is full (long enough for a flush or two). */
const FULL_RETRY_AFTER_SECONDS = 5;

/** Hands each accepted batch to every sink, or to none. */
export function createFanout(sinks: readonly Sink[]) {
  return {
    sinks,
    /**
     * Queues the batch in every sink, or throws 503 when any of them has no room. Checking all
     * first keeps the promise behind a 202: all sinks have it, or the client retries it whole.
     */
    accept(batch: AcceptedBatch): void {
      for (const sink of sinks) {
        if (!sink.hasRoom(batch.bytes)) {
          throw new PharosError('OVERLOADED', `the ${sink.name} sink is full; retry later`, {
            retryAfterSeconds: FULL_RETRY_AFTER_SECONDS,
          });
        }
      }
      for (const sink of sinks) sink.offer(batch);
    },
    async flush(): Promise<void> {
      await Promise.all(sinks.map((sink) => sink.flush()));
    },
    async close(): Promise<void> {
      await Promise.all(sinks.map((sink) => sink.close()));
    },
  };
}

export type Fanout = ReturnType<typeof createFanout>;
