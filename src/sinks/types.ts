import type { AcceptedBatch } from '../model/index.js';

/**
 * A destination for accepted telemetry. `offer` must never block the request: a sink queues the
 * batch and delivers it on its own schedule. Fan-out asks `hasRoom` of every sink before
 * offering to any, so a 202 means every sink took the batch.
 */
export interface Sink {
  readonly name: string;
  /** Whether a batch of `bytes` would be kept now (queue and spool not full). */
  hasRoom(bytes: number): boolean;
  /** Queues the batch. Only called after `hasRoom` said yes. */
  offer(batch: AcceptedBatch): void;
  /** Delivers everything queued so far. */
  flush(): Promise<void>;
  /** Flushes, then releases resources. Idempotent. */
  close(): Promise<void>;
}
