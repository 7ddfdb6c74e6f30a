import { crc32 } from 'node:zlib';
import { isItemCounts } from './item-counts.js';
import type { ItemCounts } from './types.js';

/*
 * One spool record:
 *
 *   u32 BE  body length
 *   u32 BE  CRC-32 of (the 4 length bytes ‖ body)
 *   body:   u16 BE meta length ‖ meta (UTF-8 JSON {"b": unit bytes, "i": items per kind}) ‖ value
 *
 * The value is the protocol's `serialize` output, opaque here. The CRC covers the length too, so
 * a torn or zero-filled tail (a crash mid-write, or a file system that extended the file before
 * writing the data) is never mistaken for a record. The meta travels with each record so that the
 * queue can account bytes and items of spooled units without deserialising them.
 */

export const RECORD_HEADER_BYTES = 8;
/** Larger bodies are refused when writing and taken as corruption when reading. */
export const MAX_RECORD_BODY_BYTES = 256 * 1024 * 1024;
const META_LENGTH_BYTES = 2;

export interface RecordMeta {
  /** The unit's approximate size (`Unit.bytes`), not its size on disk. */
  readonly bytes: number;
  readonly items: ItemCounts;
}

export function encodeRecord(meta: RecordMeta, value: Buffer): Buffer {
  const metaJson = Buffer.from(JSON.stringify({ b: meta.bytes, i: meta.items }));
  if (metaJson.length > 0xffff) throw new Error('spool record meta is too large');
  const bodyLength = META_LENGTH_BYTES + metaJson.length + value.length;
  if (bodyLength > MAX_RECORD_BODY_BYTES)
    throw new Error(`spool record of ${bodyLength} bytes exceeds ${MAX_RECORD_BODY_BYTES}`);
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bodyLength);
  record.writeUInt32BE(bodyLength, 0);
  record.writeUInt16BE(metaJson.length, RECORD_HEADER_BYTES);
  metaJson.copy(record, RECORD_HEADER_BYTES + META_LENGTH_BYTES);
  value.copy(record, RECORD_HEADER_BYTES + META_LENGTH_BYTES + metaJson.length);
  record.writeUInt32BE(recordChecksum(record, bodyLength), 4);
  return record;
}

export type DecodedRecord =
  | {
      readonly status: 'record';
      readonly size: number;
      readonly meta: RecordMeta;
      readonly value: Buffer;
    }
  /** The buffer ends inside this record: `needed` bytes from the offset would hold it whole. */
  | { readonly status: 'incomplete'; readonly needed: number }
  | { readonly status: 'corrupt'; readonly reason: string };

/** Decodes the record that starts at `offset`. `value` is a view into `buffer`, not a copy. */
export function decodeRecord(buffer: Buffer, offset: number): DecodedRecord {
  const available = buffer.length - offset;
  if (available < RECORD_HEADER_BYTES) return { status: 'incomplete', needed: RECORD_HEADER_BYTES };
  const bodyLength = buffer.readUInt32BE(offset);
  if (bodyLength < META_LENGTH_BYTES || bodyLength > MAX_RECORD_BODY_BYTES)
    return { status: 'corrupt', reason: `impossible record length ${bodyLength}` };
  const size = RECORD_HEADER_BYTES + bodyLength;
  if (available < size) return { status: 'incomplete', needed: size };
  const record = buffer.subarray(offset, offset + size);
  if (record.readUInt32BE(4) !== recordChecksum(record, bodyLength))
    return { status: 'corrupt', reason: 'checksum mismatch' };
  const metaLength = record.readUInt16BE(RECORD_HEADER_BYTES);
  const valueStart = RECORD_HEADER_BYTES + META_LENGTH_BYTES + metaLength;
  if (valueStart > size) return { status: 'corrupt', reason: 'meta overruns the record' };
  const meta = parseMeta(record.subarray(RECORD_HEADER_BYTES + META_LENGTH_BYTES, valueStart));
  if (meta === undefined) return { status: 'corrupt', reason: 'unreadable meta' };
  return { status: 'record', size, meta, value: record.subarray(valueStart) };
}

function recordChecksum(record: Buffer, bodyLength: number): number {
  const lengthCrc = crc32(record.subarray(0, 4));
  return crc32(record.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + bodyLength), lengthCrc);
}

function parseMeta(json: Buffer): RecordMeta | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { b: bytes, i: items } = parsed as { b?: unknown; i?: unknown };
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) return undefined;
  if (!isItemCounts(items)) return undefined;
  return { bytes, items };
}
