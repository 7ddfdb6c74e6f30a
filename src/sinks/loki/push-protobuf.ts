import { compress } from 'snappyjs';
import { streamEntries, type PushStream } from './push-streams.js';
import type { LabelPairs, LokiEntry } from './unit.js';
import { nextTurn } from '../../lib/next-turn.js';

/**
 * Loki's push request in protobuf (`grafana/loki` `pkg/push/push.proto`), snappy block-compressed
 * as Loki expects for `Content-Type: application/x-protobuf`:
 *
 *   PushRequest      { repeated StreamAdapter streams = 1; }
 *   StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
 *   EntryAdapter     { google.protobuf.Timestamp timestamp = 1; string line = 2;
 *                      repeated LabelPairAdapter structuredMetadata = 3; }
 *   LabelPairAdapter { string name = 1; string value = 2; }
 *   Timestamp        { int64 seconds = 1; int32 nanos = 2; }
 *
 * `hash` is left out (Loki recomputes it). Written by hand rather than through a protobuf library:
 * the shape is fixed and tiny. Entries are encoded in two passes (sizes, then bytes into one
 * buffer per slice of entries), with no intermediate object per field.
 */

// Tags: (field number << 3) | wire type; wire type 2 = length-delimited, 0 = varint.
const TAG_1_BYTES = 0x0a;
const TAG_2_BYTES = 0x12;
const TAG_3_BYTES = 0x1a;
const TAG_1_VARINT = 0x08;
const TAG_2_VARINT = 0x10;

export const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';

/**
 * The compressed body. Snappy is snappyjs, in JavaScript on the event loop (~2.7 ms of CPU per MB
 * here, no slower than the native `snappy` binding): the native binding kept 250–300 MiB of
 * memory outside the JS heap once pushes of a megabyte went through it, growing by ~10 MiB a
 * second at 3,000 requests/s (docs/performance.md, finding 12).
 */
export async function encodePushProtobuf(
  streams: readonly PushStream[],
  withMetadata: boolean,
): Promise<Buffer> {
  return compressInSlices(await encodePushRequestInSlices(streams, withMetadata));
}

/**
 * Snappy compressors (the reference one, and snappyjs) compress a block in independent 64 KiB
 * fragments, no copy reaching into an earlier one: the block is the total length as a varint,
 * then each fragment's elements. So compressing fragment by fragment and joining the elements
 * gives exactly snappyjs's `compress(raw)` (tested), with the event loop free every few
 * fragments instead of held for the ~3 ms a megabyte takes.
 */
const SNAPPY_FRAGMENT_BYTES = 64 * 1024;
const FRAGMENTS_PER_TURN = 4;

export async function compressInSlices(
  raw: Buffer,
  yieldToEventLoop: () => Promise<void> = nextTurn,
): Promise<Buffer> {
  const head = Buffer.allocUnsafe(varintSize(raw.length));
  writeVarint(head, 0, raw.length);
  const parts: Buffer[] = [head];
  for (let pos = 0, fragments = 0; pos < raw.length; pos += SNAPPY_FRAGMENT_BYTES, fragments++) {
    if (fragments > 0 && fragments % FRAGMENTS_PER_TURN === 0) await yieldToEventLoop();
    const fragment = raw.subarray(pos, pos + SNAPPY_FRAGMENT_BYTES);
    // Each compressed fragment is a block of its own: drop its length, keep its elements.
    parts.push(compress(fragment).subarray(varintSize(fragment.length)));
  }
  return Buffer.concat(parts);
}

/**
 * Sizes of every string and message, recorded by the first pass in exactly the order the second
 * pass writes them: a message's slot is reserved before its parts and filled after them.
 */
class Sizes {
  private readonly values: number[] = [];
  private next = 0;
  reserve(): number {
    return this.values.push(0) - 1;
  }
  fill(slot: number, size: number): number {
    this.values[slot] = size;
    return size;
  }
  record(size: number): number {
    this.values.push(size);
    return size;
  }
  take(): number {
    return this.values[this.next++] ?? 0;
  }
}

/** The uncompressed PushRequest, in one piece (`encodePushRequestInSlices` makes the same bytes). */
export function encodePushRequest(streams: readonly PushStream[], withMetadata: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const stream of streams) {
    if (sendsAsEncoded(stream, withMetadata)) {
      parts.push(streamHead(stream.key, encodedLength(stream)), ...stream.parts);
      continue;
    }
    const entries = encodeEntries(streamEntries(stream), withMetadata);
    parts.push(streamHead(stream.key, entries.length), entries);
  }
  return Buffer.concat(parts);
}

/**
 * Whether the stream's entries go out as the units encoded them at accept time (with their
 * metadata, in time order): the usual case, a concatenation. Otherwise they are decoded and
 * encoded again, sorted by time or without metadata.
 */
function sendsAsEncoded(stream: PushStream, withMetadata: boolean): boolean {
  return withMetadata && stream.inOrder;
}

function encodedLength(stream: PushStream): number {
  let length = 0;
  for (const part of stream.parts) length += part.length;
  return length;
}

/** A length-delimited field with a body of this size: tag, length varint, body. */
const field = (size: number): number => 1 + varintSize(size) + size;
/** A proto3 string field: an empty string is the default and is left out. */
const stringField = (bytes: number): number => (bytes === 0 ? 0 : field(bytes));

function sizeEntry(entry: LokiEntry, withMetadata: boolean, sizes: Sizes): number {
  const slot = sizes.reserve();
  let size = field(timestampSize(entry));
  size += stringField(sizes.record(Buffer.byteLength(entry.line)));
  if (withMetadata && entry.metadata) {
    for (const pair of entry.metadata) size += field(sizePair(pair, sizes));
  }
  return sizes.fill(slot, size);
}

function sizePair([name, value]: LabelPairs[number], sizes: Sizes): number {
  const slot = sizes.reserve();
  const size =
    stringField(sizes.record(Buffer.byteLength(name))) +
    stringField(sizes.record(Buffer.byteLength(value)));
  return sizes.fill(slot, size);
}

function timestampSize(entry: LokiEntry): number {
  return (
    (entry.seconds !== 0 ? 1 + int64Size(entry.seconds) : 0) +
    (entry.nanos !== 0 ? 1 + varintSize(entry.nanos) : 0)
  );
}

/** One `entries` field of a StreamAdapter (tag 2, then the EntryAdapter). */
function writeEntry(
  buffer: Buffer,
  pos: number,
  entry: LokiEntry,
  withMetadata: boolean,
  sizes: Sizes,
): number {
  pos = writeHeader(buffer, pos, TAG_2_BYTES, sizes.take());
  pos = writeHeader(buffer, pos, TAG_1_BYTES, timestampSize(entry));
  if (entry.seconds !== 0) {
    buffer[pos++] = TAG_1_VARINT;
    pos = writeInt64(buffer, pos, entry.seconds);
  }
  if (entry.nanos !== 0) {
    buffer[pos++] = TAG_2_VARINT;
    pos = writeVarint(buffer, pos, entry.nanos);
  }
  pos = writeString(buffer, pos, TAG_2_BYTES, entry.line, sizes.take());
  if (withMetadata && entry.metadata) {
    for (const [name, value] of entry.metadata) {
      pos = writeHeader(buffer, pos, TAG_3_BYTES, sizes.take());
      pos = writeString(buffer, pos, TAG_1_BYTES, name, sizes.take());
      pos = writeString(buffer, pos, TAG_2_BYTES, value, sizes.take());
    }
  }
  return pos;
}

/** Entries encoded per slice by `encodePushRequestInSlices`: about a millisecond of CPU here. */
export const ENTRIES_PER_SLICE = 250;

/**
 * The same bytes as `encodePushRequest`, made a slice of entries at a time with the event loop
 * free in between. A push of 2,000 entries takes ~10 ms to encode; in one piece that is a 10 ms
 * pause for every request arriving meanwhile, and under load the queue it leaves behind is much
 * of the p99 (docs/performance.md). A StreamAdapter's entries are a repeated field, each one
 * self-delimited, so slices encoded apart and put one after another are the same message.
 */
export async function encodePushRequestInSlices(
  streams: readonly PushStream[],
  withMetadata: boolean,
  yieldToEventLoop: () => Promise<void> = nextTurn,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let sinceYield = 0;
  for (const stream of streams) {
    if (sendsAsEncoded(stream, withMetadata)) {
      parts.push(streamHead(stream.key, encodedLength(stream)), ...stream.parts);
      continue;
    }
    const entries = streamEntries(stream);
    const slices: Buffer[] = [];
    let entriesBytes = 0;
    for (let start = 0; start < entries.length; start += ENTRIES_PER_SLICE) {
      if (sinceYield >= ENTRIES_PER_SLICE) {
        await yieldToEventLoop();
        sinceYield = 0;
      }
      const slice = entries.slice(start, start + ENTRIES_PER_SLICE);
      const encoded = encodeEntries(slice, withMetadata);
      slices.push(encoded);
      entriesBytes += encoded.length;
      sinceYield += slice.length;
    }
    parts.push(streamHead(stream.key, entriesBytes), ...slices);
  }
  return Buffer.concat(parts);
}

/**
 * The `entries` fields of a StreamAdapter for these entries, in two passes (sizes, then bytes).
 * Units hold their entries in this form from accept to push (see unit.ts); a push puts them
 * after a stream head as they are.
 */
export function encodeEntries(entries: readonly LokiEntry[], withMetadata: boolean): Buffer {
  const sizes = new Sizes();
  let total = 0;
  for (const entry of entries) total += field(sizeEntry(entry, withMetadata, sizes));
  // Its own memory, not a slice of Node's shared 8 KiB pool: a unit that waits in a queue (a
  // backend down for minutes) would otherwise keep the whole slab alive, with the slices of
  // other tenants' units that were pushed long ago, and the queues' byte bounds would undercount.
  const buffer = Buffer.allocUnsafeSlow(total);
  let pos = 0;
  for (const entry of entries) pos = writeEntry(buffer, pos, entry, withMetadata, sizes);
  if (pos !== total) throw new Error(`protobuf size mismatch: wrote ${pos} of ${total} bytes`);
  return buffer;
}

/** What comes before a stream's entries: the `streams` tag and length, and its `labels`. */
function streamHead(labelsText: string, entriesBytes: number): Buffer {
  const labelBytes = Buffer.byteLength(labelsText);
  const streamSize = stringField(labelBytes) + entriesBytes;
  const buffer = Buffer.allocUnsafe(1 + varintSize(streamSize) + stringField(labelBytes));
  let pos = writeHeader(buffer, 0, TAG_1_BYTES, streamSize);
  pos = writeString(buffer, pos, TAG_1_BYTES, labelsText, labelBytes);
  if (pos !== buffer.length) throw new Error('protobuf size mismatch in a stream head');
  return buffer;
}

function writeHeader(buffer: Buffer, pos: number, tag: number, size: number): number {
  buffer[pos++] = tag;
  return writeVarint(buffer, pos, size);
}

function writeString(
  buffer: Buffer,
  pos: number,
  tag: number,
  text: string,
  bytes: number,
): number {
  if (bytes === 0) return pos;
  pos = writeHeader(buffer, pos, tag, bytes);
  return pos + buffer.write(text, pos, bytes, 'utf8');
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

function writeVarint(buffer: Buffer, pos: number, value: number): number {
  while (value >= 0x80) {
    buffer[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buffer[pos++] = value;
  return pos;
}

/** A negative int64 is its 64-bit two's complement as a varint: always ten bytes. */
function int64Size(value: number): number {
  return value < 0 ? 10 : varintSize(value);
}

function writeInt64(buffer: Buffer, pos: number, value: number): number {
  if (value >= 0) return writeVarint(buffer, pos, value);
  let bits = BigInt.asUintN(64, BigInt(value));
  while (bits >= 0x80n) {
    buffer[pos++] = Number(bits & 0x7fn) | 0x80;
    bits >>= 7n;
  }
  buffer[pos++] = Number(bits);
  return pos;
}

/**
 * The entries of `encodeEntries` bytes, as they were (a line's text as UTF-8 made it). Strict:
 * the bytes are our own, so anything unexpected means they were damaged, and throws.
 */
export function decodeEntries(encoded: Uint8Array): LokiEntry[] {
  const reader = new Reader(encoded);
  const entries: LokiEntry[] = [];
  while (!reader.done()) {
    reader.expect(TAG_2_BYTES);
    const end = reader.lengthEnd();
    let seconds = 0;
    let nanos = 0;
    let line = '';
    const metadata: [string, string][] = [];
    while (reader.pos < end) {
      const tag = reader.byte();
      if (tag === TAG_1_BYTES) {
        const timestampEnd = reader.lengthEnd();
        while (reader.pos < timestampEnd) {
          const field = reader.byte();
          if (field === TAG_1_VARINT) seconds = reader.int64();
          else if (field === TAG_2_VARINT) nanos = reader.varint();
          else throw reader.error(`timestamp field tag ${field}`);
        }
      } else if (tag === TAG_2_BYTES) {
        line = reader.string();
      } else if (tag === TAG_3_BYTES) {
        const pairEnd = reader.lengthEnd();
        let name = '';
        let value = '';
        while (reader.pos < pairEnd) {
          const field = reader.byte();
          if (field === TAG_1_BYTES) name = reader.string();
          else if (field === TAG_2_BYTES) value = reader.string();
          else throw reader.error(`label pair field tag ${field}`);
        }
        metadata.push([name, value]);
      } else {
        throw reader.error(`entry field tag ${tag}`);
      }
    }
    if (reader.pos !== end) throw reader.error('an entry overruns its length');
    entries.push(
      metadata.length > 0 ? { seconds, nanos, line, metadata } : { seconds, nanos, line },
    );
  }
  return entries;
}

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.bytes.length;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) throw this.error('the bytes end early');
    return this.bytes[this.pos++]!;
  }

  expect(tag: number): void {
    const found = this.byte();
    if (found !== tag) throw this.error(`field tag ${found} where ${tag} was expected`);
  }

  varint(): number {
    let value = 0;
    for (let scale = 1; ; scale *= 0x80) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      if (scale > 2 ** 49) throw this.error('a varint longer than a safe integer');
    }
  }

  /** An int64 varint: a negative one is ten bytes of two's complement (see writeInt64). */
  int64(): number {
    const start = this.pos;
    let length = 1;
    while ((this.bytes[start + length - 1] ?? 0) >= 0x80) length++;
    if (length < 10) return this.varint(); // not negative: the usual case, without BigInt
    let bits = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = this.byte();
      bits |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) break;
      if (this.pos - start >= 10) throw this.error('an int64 varint longer than ten bytes');
    }
    return Number(BigInt.asIntN(64, bits));
  }

  /** Where a length-delimited field that starts here ends. */
  lengthEnd(): number {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.bytes.length) throw this.error('a field overruns the bytes');
    return end;
  }

  string(): string {
    const end = this.lengthEnd();
    const text = Buffer.from(
      this.bytes.buffer,
      this.bytes.byteOffset + this.pos,
      end - this.pos,
    ).toString('utf8');
    this.pos = end;
    return text;
  }

  error(what: string): Error {
    return new Error(`Loki entries: ${what} at byte ${this.pos}`);
  }
}
