import { rfc3339ToEpoch } from './go-format.js';

/** A Loki entry timestamp: whole seconds since the epoch and nanoseconds (0..999,999,999). */
export interface EntryTime {
  readonly seconds: number;
  readonly nanos: number;
}

export type LokiTimestampSource = 'receive' | 'client';

/**
 * How far back a client timestamp may lie before the receive time is used instead. Loki refuses
 * an entry more than `max_chunk_age / 2` (1 h by default) behind the newest of its stream, and
 * such a refusal answers the whole push with 400.
 */
export const CLIENT_TIMESTAMP_MAX_AGE_MS = 60 * 60 * 1000;

/**
 * Receive-time timestamps: the batch's receive time in milliseconds, plus a nanosecond counter so
 * that no two entries of this sink ever share a timestamp.
 *
 * Why the counter: Loki silently drops an entry whose timestamp *and* line equal those of an entry
 * already in its stream. Entries of one batch share the receive time, and the SDK does send
 * identical lines (the same console warning twice in one millisecond: the line carries only
 * millisecond client time). Timestamps are assigned once, when the batch is accepted, and travel
 * with the unit through the spool, so a retried push carries the same timestamps: there, Loki's
 * duplicate rule is what makes the retry idempotent. A clock that steps back never makes the
 * sequence step back.
 */
export function createReceiveClock(): (receivedAtMs: number) => EntryTime {
  let lastSeconds = -Infinity;
  let lastNanos = 0;
  return (receivedAtMs) => {
    const ms = Math.floor(receivedAtMs);
    let seconds = Math.floor(ms / 1000);
    let nanos = (ms - seconds * 1000) * 1_000_000;
    if (seconds < lastSeconds || (seconds === lastSeconds && nanos <= lastNanos)) {
      seconds = lastSeconds;
      nanos = lastNanos + 1;
      if (nanos === 1_000_000_000) {
        seconds += 1;
        nanos = 0;
      }
    }
    lastSeconds = seconds;
    lastNanos = nanos;
    return { seconds, nanos };
  };
}

/**
 * The item's own (client) timestamp, when it has one that is not after the receive time and not
 * more than {@link CLIENT_TIMESTAMP_MAX_AGE_MS} before it; otherwise the receive time. A browser
 * clock ahead of ours cannot be right, and Loki refuses entries too far in the future or past.
 */
export function clientEntryTime(
  timestamp: string | undefined,
  receivedAtMs: number,
  receiveTime: () => EntryTime,
): EntryTime {
  if (timestamp === undefined) return receiveTime();
  const client = rfc3339ToEpoch(timestamp);
  if (!client) return receiveTime();
  const clientMs = client.seconds * 1000 + client.nanos / 1_000_000;
  if (clientMs > receivedAtMs || clientMs < receivedAtMs - CLIENT_TIMESTAMP_MAX_AGE_MS) {
    return receiveTime();
  }
  return client;
}

/** Nanoseconds since the epoch as a decimal string (beyond 2^53, so never a plain number). */
export function entryTimeNanosText(time: EntryTime): string {
  if (time.seconds <= 0) {
    return (BigInt(time.seconds) * 1_000_000_000n + BigInt(time.nanos)).toString();
  }
  return `${time.seconds}${String(time.nanos).padStart(9, '0')}`;
}

export function compareEntryTimes(a: EntryTime, b: EntryTime): number {
  return a.seconds - b.seconds || a.nanos - b.nanos;
}
