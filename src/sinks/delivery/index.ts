/**
 * The delivery framework: what every network sink (Loki, traces, metrics) shares. A protocol
 * (`SinkProtocol`) says which part of a batch the sink takes and how to push it; the framework
 * queues, batches, spools, retries and accounts.
 *
 * Queue. Units wait in memory (bounded by `maxQueueBytes`, and across every queue of the process
 * by a shared `QueueMemoryLimit`), then in the spool on disk (bounded by `maxSpoolBytes`); when
 * both are full, `hasRoom` says no and ingest answers 503. Order is FIFO
 * end to end: everything in memory is older than everything in the spool. With disk durability,
 * every unit goes to the spool and `offer` resolves once it is fsync'd (group commit).
 *
 * Sender. One push at a time per queue, oldest first, batched by `batch`; a shared
 * `BatchingBudget` makes the queue holding the most push early once all the queues together hold
 * too much waiting data (many quiet tenants). Delivered: removed.
 * Rejected: removed and counted in `pharos_items_dropped_total` with the protocol's reason.
 * Retry: the same units again after a backoff (or the backend's Retry-After), forever.
 *
 * `flush()` pushes at once, without waiting for batches to fill, and resolves when the queue is
 * empty, or when a push failed and the sender is backing off (a dead backend must not hang a
 * shutdown or a test), or when the sink is closed. `close()` stops accepting, gives a push under
 * way `drainTimeoutMs` to finish (then aborts it), writes the units still in memory to the spool
 * and closes the files: a graceful restart loses nothing. With memory durability the spool is
 * fsync'd when a segment is sealed and at close; with disk durability, at every group commit.
 *
 * Spool, on disk, in `spoolDir`:
 * - `<16-digit id>.seg`: segment files, read in id order. Each starts with `PHSPOOL1`, then
 *   records: u32 BE body length, u32 BE CRC-32 of length and body, body = u16 BE meta length,
 *   meta JSON `{"b": unit bytes, "i": {kind: items}}`, then the protocol's serialised value.
 *   Appended only; a segment is sealed at `segmentBytes` and deleted once fully acknowledged.
 * - `state.json`: `{"version":1,"ack":{segment,offset},"sent":{segment,offset}}`, replaced
 *   atomically (temp file + rename). `ack` is the first unacknowledged record, written at most
 *   once per `stateIntervalMs` (and at close): after a crash, up to that interval's worth of
 *   delivered records are sent again. `sent` is the end of the last record handed to the backend,
 *   written before each push that goes past it.
 * - `lock`: the pid of the process that has the spool open.
 *
 * Recovery. On open, the last segment is cut at its first torn or corrupt record, and delivery
 * resumes at `ack`. Redelivery rule: a record between `ack` and `sent` was handed to the backend
 * by the previous process, which may or may not have seen the answer, so it is sent again and
 * its items are counted in `pharos_sink_items_redelivered_total` when delivered (they are also
 * counted as delivered: delivered − redelivered is the at-least-once count of distinct items).
 * Records after `sent` were never pushed and are not counted. Without a readable state file every
 * record counts as redelivered. Memory units spooled at a graceful shutdown count as redelivered
 * only if they were in a push that had not been answered.
 */
export { createDeliverySink } from './delivery-sink.js';
export { BatchingBudget } from './batching-budget.js';
export { QueueMemoryLimit } from './queue-memory-limit.js';
export type { DeliveryDeps, DeliverySink, DeliveryStats, DeliveryTuning } from './delivery-sink.js';
export { MAX_RETRY_AFTER_MS, retryDelayMs } from './backoff.js';
export type { Sleep } from './wait.js';
export type { DeliveryOptions, ItemCounts, SendOutcome, SinkProtocol, Unit } from './types.js';
