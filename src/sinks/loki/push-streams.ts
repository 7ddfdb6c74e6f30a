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

/**
 * Merges the streams of several units (oldest unit first) into one stream per label set, so a
 * push never names a stream twice. Entries keep their order; `streamEntries` sorts a stream by
 * time only when it is not in order already (client timestamps, or units spooled across a
 * restart), because Loki ingests fastest, and older Loki versions only, in order.
 */
export function groupStreams(units: readonly LokiUnit[]): PushStream[] {
  const streams = new Map<
    string,
    { labels: LabelPairs; key: string; parts: Buffer[]; count: number; inOrder: boolean }
  >();
  const lastOf = new Map<string, EntryTime>();
  for (const unit of units) {
    for (const part of unit.streams) {
      let stream = streams.get(part.key);
      if (!stream) {
        stream = { labels: part.labels, key: part.key, parts: [], count: 0, inOrder: true };
        streams.set(part.key, stream);
      }
      const last = lastOf.get(part.key);
      if (!part.inOrder || (last !== undefined && compareEntryTimes(last, part.first) > 0))
        stream.inOrder = false;
      lastOf.set(part.key, part.last);
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
