import type { AcceptedBatch } from '../../model/index.js';
import type { Unit } from '../delivery/types.js';
import { goString } from './go-format.js';
import {
  entryLabels,
  labelsDependOnLine,
  labelsText,
  levelLabel,
  type DefaultLabelValues,
  type LabelRules,
} from './labels.js';
import {
  formatPayloadLines,
  type LokiItem,
  type LokiLineFormat,
  type TrailingKeys,
} from './lines.js';
import { decodeEntries, encodeEntries } from './push-protobuf.js';
import {
  clientEntryTime,
  compareEntryTimes,
  createReceiveClock,
  type EntryTime,
  type LokiTimestampSource,
} from './timestamps.js';

export type LabelPairs = readonly (readonly [string, string])[];

/** One Loki entry, formatted at accept time. */
export interface LokiEntry extends EntryTime {
  readonly line: string;
  /** Structured metadata, name/value pairs; absent when there is none. */
  readonly metadata?: LabelPairs;
}

export interface LokiStreamPart {
  /** Label pairs, sorted by name. */
  readonly labels: LabelPairs;
  /** The labels in Prometheus text form: the stream's identity, and what protobuf pushes carry. */
  readonly key: string;
  /**
   * The entries, encoded at accept time as the `entries` fields of a protobuf StreamAdapter
   * (push-protobuf.ts), structured metadata included. A unit waits up to a second for its batch,
   * long enough for the garbage collector to copy it twice and move it to the old generation: as
   * objects (an entry, its line, its metadata pairs) that was ~2.2 KB of heap a unit, as bytes
   * it is ~0.5 KB and one Buffer outside the heap (docs/performance.md, finding 26). A push then
   * concatenates them; the JSON push, a push without metadata and the spool decode them.
   */
  readonly encoded: Buffer;
  readonly count: number;
  readonly first: EntryTime;
  readonly last: EntryTime;
  /** Whether the entries are in time order (with receive timestamps, always). */
  readonly inOrder: boolean;
}

/** A batch's share for Loki: its lines grouped by stream, in the order Alloy emits them. */
export interface LokiUnit {
  readonly streams: readonly LokiStreamPart[];
}

/** A stream part of these entries (at least one), encoded. */
export function streamPart(
  labels: LabelPairs,
  key: string,
  entries: readonly LokiEntry[],
): LokiStreamPart {
  let inOrder = true;
  for (let i = 1; i < entries.length && inOrder; i++)
    inOrder = compareEntryTimes(entries[i - 1]!, entries[i]!) <= 0;
  const first = entries[0]!;
  const last = entries[entries.length - 1]!;
  return {
    labels,
    key,
    encoded: encodeEntries(entries, true),
    count: entries.length,
    first: { seconds: first.seconds, nanos: first.nanos },
    last: { seconds: last.seconds, nanos: last.nanos },
    inOrder,
  };
}

/** A unit of streams given as entries (the spool's form, and tests'). */
export function unitOfEntries(
  streams: readonly { labels: LabelPairs; key?: string; entries: readonly LokiEntry[] }[],
): LokiUnit {
  return {
    streams: streams.map((stream) =>
      streamPart(stream.labels, stream.key ?? labelsText(stream.labels), stream.entries),
    ),
  };
}

export interface UnitBuilderOptions {
  readonly format: LokiLineFormat;
  readonly labelRules: LabelRules;
  readonly structuredMetadata: boolean;
  readonly timestamp: LokiTimestampSource;
  /** The registry's name of an app: the `service_name` when the payload has no `meta.app.name`. */
  readonly appName?: (appId: string) => string | undefined;
  readonly trailingKeys?: TrailingKeys;
}

/** Bytes a stream part costs beyond its encoded entries and its key (object, times, Buffer). */
const STREAM_OVERHEAD_BYTES = 160;
const LABEL_CACHE_SIZE = 4096;

/**
 * Makes `select`: formats every line of a batch (the CPU work, done once at accept time), gives
 * each its labels, structured metadata and timestamp, and groups them by stream.
 */
export function createUnitBuilder(
  options: UnitBuilderOptions,
): (batch: AcceptedBatch) => Unit<LokiUnit> | undefined {
  const receiveClock = createReceiveClock();
  const copiesFromLine = labelsDependOnLine(options.labelRules);
  // Without copied labels, a label set depends only on the app's names, the kind and the level:
  // few distinct sets, each built once. Bounded, since app names come from the browser.
  const labelCache = new Map<string, { labels: LabelPairs; key: string }>();

  return (batch) => {
    const lines = formatPayloadLines(batch.payload, options.format, options.trailingKeys);
    if (lines.length === 0) return undefined;

    const meta = batch.payload.meta;
    const appName = meta?.app?.name || undefined;
    const defaults: DefaultLabelValues = {
      serviceName: appName ?? (options.appName?.(batch.appId) || batch.appId),
      appName,
      appEnvironment: meta?.app?.environment || undefined,
    };
    const batchMetadata = options.structuredMetadata ? metadataOfBatch(batch) : undefined;
    const receiveTime = (): EntryTime => receiveClock(batch.receivedAt);

    const streams = new Map<string, { labels: LabelPairs; entries: LokiEntry[] }>();
    const cachePrefix = `${defaults.serviceName}\u0000${appName ?? ''}\u0000${defaults.appEnvironment ?? ''}`;
    const items: { [K in LokiItem['kind']]?: number } = {};

    // Within a batch the label set depends on the kind and level only: look the long shared key
    // up once per pair, not once per line (hashing it costs more than the rest of the lookup).
    const batchLabels = new Map<string, { labels: LabelPairs; key: string }>();
    for (const { item, line, value: lineValue } of lines) {
      const level = levelLabel(item.kind, item.kind === 'log' ? item.item.level : undefined);
      const shortKey = level === undefined ? item.kind : `${item.kind}\u0000${level}`;
      let labelSet = copiesFromLine ? undefined : batchLabels.get(shortKey);
      if (!labelSet && !copiesFromLine) {
        labelSet = labelCache.get(`${cachePrefix}\u0000${shortKey}`);
        if (labelSet) batchLabels.set(shortKey, labelSet);
      }
      if (!labelSet) {
        const labels = entryLabels(options.labelRules, defaults, item.kind, level, lineValue);
        labelSet = { labels, key: labelsText(labels) };
        if (!copiesFromLine) {
          if (labelCache.size >= LABEL_CACHE_SIZE) labelCache.clear();
          labelCache.set(`${cachePrefix}\u0000${shortKey}`, labelSet);
          batchLabels.set(shortKey, labelSet);
        }
      }

      const time =
        options.timestamp === 'client'
          ? clientEntryTime(item.item.timestamp, batch.receivedAt, receiveTime)
          : receiveTime();
      const metadata = batchMetadata ? withTrace(batchMetadata, item) : undefined;
      const entry: LokiEntry =
        metadata && metadata.length > 0 ? { ...time, line, metadata } : { ...time, line };

      let stream = streams.get(labelSet.key);
      if (!stream) {
        stream = { labels: labelSet.labels, entries: [] };
        streams.set(labelSet.key, stream);
      }
      stream.entries.push(entry);
      items[item.kind] = (items[item.kind] ?? 0) + 1;
    }

    let bytes = 0;
    const parts: LokiStreamPart[] = [];
    for (const [key, stream] of streams) {
      const part = streamPart(stream.labels, key, stream.entries);
      bytes += STREAM_OVERHEAD_BYTES + key.length + part.encoded.length;
      parts.push(part);
    }
    return { value: { streams: parts }, bytes, items };
  };
}

/**
 * Structured metadata, in this order: `session_id`, `trace_id`, `span_id`, `page_id`, `page_url`,
 * `app_id` (the Pharos app), each only when present. The batch's part is computed once.
 */
interface BatchMetadata {
  readonly sessionId: string | undefined;
  readonly after: LabelPairs;
}

function metadataOfBatch(batch: AcceptedBatch): BatchMetadata {
  const meta = batch.payload.meta;
  const after: [string, string][] = [];
  if (meta?.page?.id) after.push(['page_id', goString(meta.page.id)]);
  if (meta?.page?.url) after.push(['page_url', goString(meta.page.url)]);
  after.push(['app_id', batch.appId]);
  return { sessionId: meta?.session?.id ? goString(meta.session.id) : undefined, after };
}

function withTrace(batchMetadata: BatchMetadata, item: LokiItem): LabelPairs {
  const pairs: (readonly [string, string])[] = [];
  if (batchMetadata.sessionId !== undefined) pairs.push(['session_id', batchMetadata.sessionId]);
  const trace = item.item.trace;
  if (trace?.trace_id) pairs.push(['trace_id', goString(trace.trace_id)]);
  if (trace?.span_id) pairs.push(['span_id', goString(trace.span_id)]);
  for (const pair of batchMetadata.after) pairs.push(pair);
  return pairs;
}

// --- spool form ---

/**
 * Spool form, version 1: JSON arrays without field names, so it is compact and the strings are
 * written once: `[1, [[labelPairs, [[seconds, nanos, line, metadataPairs?], ...]], ...]]`. The
 * labels text is recomputed on the way back.
 */
const SPOOL_VERSION = 1;

export function serializeUnit(unit: LokiUnit): Buffer {
  const streams = unit.streams.map((stream) => [
    stream.labels,
    decodeEntries(stream.encoded).map((entry) =>
      entry.metadata
        ? [entry.seconds, entry.nanos, entry.line, entry.metadata]
        : [entry.seconds, entry.nanos, entry.line],
    ),
  ]);
  return Buffer.from(JSON.stringify([SPOOL_VERSION, streams]), 'utf8');
}

export function deserializeUnit(data: Buffer): LokiUnit {
  const parsed: unknown = JSON.parse(data.toString('utf8'));
  if (!Array.isArray(parsed) || parsed[0] !== SPOOL_VERSION || !Array.isArray(parsed[1])) {
    throw new Error('not a Loki spool unit (version 1)');
  }
  const streams = (parsed[1] as unknown[]).map((stream, index): LokiStreamPart => {
    if (!Array.isArray(stream) || stream.length !== 2 || !Array.isArray(stream[1])) {
      throw new Error(`Loki spool unit: stream ${index} is malformed`);
    }
    const labels = pairsOf(stream[0], `stream ${index} labels`);
    const entries = (stream[1] as unknown[]).map((entry, entryIndex): LokiEntry => {
      const where = `stream ${index} entry ${entryIndex}`;
      if (
        !Array.isArray(entry) ||
        (entry.length !== 3 && entry.length !== 4) ||
        !Number.isSafeInteger(entry[0]) ||
        !Number.isInteger(entry[1]) ||
        (entry[1] as number) < 0 ||
        (entry[1] as number) > 999_999_999 ||
        typeof entry[2] !== 'string'
      ) {
        throw new Error(`Loki spool unit: ${where} is malformed`);
      }
      const [seconds, nanos, line] = entry as [number, number, string];
      if (entry.length === 3) return { seconds, nanos, line };
      return { seconds, nanos, line, metadata: pairsOf(entry[3], `${where} metadata`) };
    });
    if (entries.length === 0) throw new Error(`Loki spool unit: stream ${index} has no entries`);
    return streamPart(labels, labelsText(labels), entries);
  });
  return { streams };
}

function pairsOf(value: unknown, where: string): LabelPairs {
  if (
    !Array.isArray(value) ||
    !value.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        typeof pair[0] === 'string' &&
        typeof pair[1] === 'string',
    )
  ) {
    throw new Error(`Loki spool unit: ${where} are malformed`);
  }
  return value as LabelPairs;
}
