import { PharosError } from '../errors/index.js';
import type { AcceptedBatch } from '../model/index.js';
import type { Sink } from './types.js';

/** Seconds a client is told to wait when a sink is full (long enough for a flush or two). */
const FULL_RETRY_AFTER_SECONDS = 5;

export interface SinkRoutes {
  /** The sinks that receive a tenant's batches. */
  sinksFor(tenantId: string): readonly Sink[];
  /** Every sink that exists, for flush and close. */
  all(): readonly Sink[];
  /** Closes every sink (and stops making new ones); default: close each of `all()`. */
  close?(): Promise<void>;
}

/** Hands each accepted batch to every sink of its tenant, or to none. */
export function createFanout(routes: SinkRoutes) {
  return {
    /**
     * Queues the batch in every sink of its tenant, or throws 503 when any of them has no room.
     * Checking all first keeps the promise behind a 202: all sinks have it, or the client
     * retries it whole. Returns a promise only when a sink must first make the batch durable.
     */
    accept(batch: AcceptedBatch): void | Promise<void> {
      const sinks = routes.sinksFor(batch.tenantId);
      for (const sink of sinks) {
        if (!sink.hasRoom(batch)) {
          throw new PharosError(
            'OVERLOADED',
            `the ${sink.name} sink of this tenant is full; retry later`,
            {
              retryAfterSeconds: FULL_RETRY_AFTER_SECONDS,
            },
          );
        }
      }
      let pending: Promise<void>[] | undefined;
      for (const sink of sinks) {
        const durable = sink.offer(batch);
        if (durable !== undefined) (pending ??= []).push(durable);
      }
      return pending === undefined ? undefined : Promise.all(pending).then(() => undefined);
    },
    async flush(): Promise<void> {
      await Promise.all(routes.all().map((sink) => sink.flush()));
    },
    async close(): Promise<void> {
      await (routes.close ? routes.close() : Promise.all(routes.all().map((sink) => sink.close())));
    },
  };
}

export type Fanout = ReturnType<typeof createFanout>;
