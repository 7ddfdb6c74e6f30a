import type { AcceptedBatch, ItemKind } from '../../model/index.js';

export type ItemCounts = Partial<Record<ItemKind, number>>;

/**
 * A network sink's share of one accepted batch (say, its Loki entries). It stays a JavaScript
 * value while it waits in memory, and is serialised only when it goes to the spool on disk.
 */
export interface Unit<T> {
  readonly value: T;
  /** Approximate size (memory and spool), for the byte bounds of the queue and the batches. */
  readonly bytes: number;
  /** Items per kind it carries, for delivered/dropped accounting. */
  readonly items: ItemCounts;
}

export type SendOutcome =
  | { readonly status: 'delivered' }
  /** Worth trying again later: network error, timeout, 408, 429, 5xx. `retryAfterMs` from the backend's Retry-After. */
  | { readonly status: 'retry'; readonly reason: string; readonly retryAfterMs?: number }
  /**
   * Refused for good (Loki 400 "entry too far behind", 413): dropped and counted, never retried.
   * `reason` is a short label from a small fixed set (`http_400`); `detail` is the backend's text.
   */
  | { readonly status: 'rejected'; readonly reason: string; readonly detail?: string };

/**
 * What a backend adds to the delivery framework: which part of a batch it takes, how that part is
 * written to and read from the spool, and how a group of them is pushed. The framework does the
 * rest: batching, the bounded memory queue, the spool, retries with backoff, accounting.
 */
export interface SinkProtocol<T> {
  /** `loki`, `traces`: the `sink` label of metrics and the spool directory prefix. */
  readonly kind: string;
  /** This sink's part of the batch; undefined when the batch has nothing for it. */
  select(batch: AcceptedBatch): Unit<T> | undefined;
  serialize(value: T): Buffer;
  deserialize(data: Buffer): T;
  /** One push of these values, oldest first. Never throws: every failure is an outcome. */
  send(values: readonly T[], signal: AbortSignal): Promise<SendOutcome>;
}

export interface DeliveryOptions {
  /** Tenant whose data this queue carries (metrics label; spool directory). */
  tenantId: string;
  /** Directory of this queue's spool; created when needed. */
  spoolDir: string;
  /** `memory`: spooled only on overflow and at shutdown. `disk`: every unit is on disk (fsync'd, group commit) before the 202. */
  durability: 'memory' | 'disk';
  /** Bytes of units waiting in memory; past it, units go to the spool. */
  maxQueueBytes: number;
  /** Bytes of units in the spool; past it (and memory full), `hasRoom` says no and ingest answers 503. */
  maxSpoolBytes: number;
  /** A push carries at most this many items / bytes, and waits at most this long to fill up. */
  batch: { maxItems: number; maxBytes: number; maxAgeMs: number };
  /** Backoff between attempts: exponential from `initialDelayMs` to `maxDelayMs`, with ±`jitter` (0..1). */
  retry: { initialDelayMs: number; maxDelayMs: number; multiplier: number; jitter: number };
  /** Deadline of one push. */
  requestTimeoutMs: number;
}
