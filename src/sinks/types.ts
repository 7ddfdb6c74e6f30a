import type { AcceptedBatch } from '../model/index.js';

/**
 * A destination for accepted telemetry. `offer` never waits for the backend: a sink queues the
 * batch and delivers it on its own schedule. Fan-out asks every sink of the tenant `hasRoom`
 * before offering to any, so a 202 means every sink took the batch.
 */
export interface Sink {
  /** `store`, `loki`, `traces`, `metrics`: the `sink` label of metrics. */
  readonly name: string;
  /** Whether the batch would be kept now (queue and spool not full). */
  hasRoom(batch: AcceptedBatch): boolean;
  /**
   * Queues the batch; only called after `hasRoom` said yes. Returns a promise when the sink must
   * make the batch durable before the 202 (disk durability: resolved once it is on disk).
   */
  offer(batch: AcceptedBatch): void | Promise<void>;
  /** Delivers (or, for network sinks, at least hands to the sender) everything queued so far. */
  flush(): Promise<void>;
  /** Stops accepting, delivers or spools what is queued, releases resources. Idempotent. */
  close(): Promise<void>;
}
