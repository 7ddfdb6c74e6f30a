import { compareEntryTimes } from './timestamps.js';
import type { LabelPairs, LokiEntry, LokiUnit } from './unit.js';

/** One stream of a push: every entry with these labels, oldest first. */
export interface PushStream {
  readonly labels: LabelPairs;
  readonly key: string;
  readonly entries: LokiEntry[];
}

/**
 * Merges the streams of several units (oldest unit first) into one stream per label set, so a
 * push never names a stream twice. Entries keep their order; a stream is then sorted by time only
 * when it is not in order already (client timestamps, or units spooled across a restart), because
 * Loki ingests fastest, and older Loki versions only, in order. The sort is stable.
 */
export function groupStreams(units: readonly LokiUnit[]): PushStream[] {
  const streams = new Map<string, PushStream>();
  for (const unit of units) {
    for (const part of unit.streams) {
      let stream = streams.get(part.key);
      if (!stream) {
        stream = { labels: part.labels, key: part.key, entries: [] };
        streams.set(part.key, stream);
      }
      for (const entry of part.entries) stream.entries.push(entry);
    }
  }
  for (const stream of streams.values()) {
    if (!isInTimeOrder(stream.entries)) stream.entries.sort(compareEntryTimes);
  }
  return [...streams.values()];
}

function isInTimeOrder(entries: readonly LokiEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) {
    if (compareEntryTimes(entries[i - 1] as LokiEntry, entries[i] as LokiEntry) > 0) return false;
  }
  return true;
}

export function countEntries(streams: readonly PushStream[]): number {
  let count = 0;
  for (const stream of streams) count += stream.entries.length;
  return count;
}
