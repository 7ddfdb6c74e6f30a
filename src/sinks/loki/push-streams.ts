import { decodeEntries } from './push-protobuf.js';
import { compareEntryTimes, type EntryTime } from './timestamps.js';
import type { LabelPairs, LokiEntry, LokiUnit } from './unit.js';

/** One stream of a push: every entry with these labels, oldest unit first. */
export interface PushStream {
  readonly labels: LabelPairs;
  readonly key: string;
  /** The units' entries as they encoded them (protobuf `entries` fields, metadata included). */
  readonly parts: readonly Buffer[];
  readonly count: number;
  /** Whether the entries, parts one after another, are in time order. */
  readonly inOrder: boolean;
}

interface StreamInProgress {
  readonly labels: LabelPairs;
  readonly key: string;
  readonly parts: Buffer[];
  count: number;
  inOrder: boolean;
  last: EntryTime;
}

/**
 * Merges the streams of several units (oldest unit first) into one stream per label set, so a
 * push never names a stream twice. Entries keep their order; `streamEntries` sorts a stream by
 * time only when it is not in order already (client timestamps, or units spooled across a
 * restart), because Loki ingests fastest, and older Loki versions only, in order.
 */
export function groupStreams(units: readonly LokiUnit[]): PushStream[] {
  // Each stream with the time of its latest entry so far, to tell whether the next part follows.
  const streams = new Map<string, StreamInProgress>();
  for (const unit of units) {
    for (const part of unit.streams) {
      const stream = streams.get(part.key);
      if (stream === undefined) {
        streams.set(part.key, {
          labels: part.labels,
          key: part.key,
          parts: [part.encoded],
          count: part.count,
          inOrder: part.inOrder,
          last: part.last,
        });
        continue;
      }
      if (!part.inOrder || compareEntryTimes(stream.last, part.first) > 0) stream.inOrder = false;
      stream.last = part.last;
      stream.parts.push(part.encoded);
      stream.count += part.count;
    }
  }
  return [...streams.values()];
}

/** The stream's entries, decoded, in time order (a stable sort, only when they were not). */
export function streamEntries(stream: PushStream): LokiEntry[] {
  const entries: LokiEntry[] = [];
  for (const part of stream.parts) for (const entry of decodeEntries(part)) entries.push(entry);
  if (!stream.inOrder) entries.sort(compareEntryTimes);
  return entries;
}

export function countEntries(streams: readonly PushStream[]): number {
  let count = 0;
  for (const stream of streams) count += stream.count;
  return count;
}
