import type { FileHandle } from 'node:fs/promises';
import { decodeRecord, type DecodedRecord } from './record-format.js';

export type DecodedSpoolRecord = Extract<DecodedRecord, { status: 'record' }>;

export interface SegmentReadResult {
  /** Offset after the last record visited (where reading stopped). */
  readonly next: number;
  /** `end`: reached `limit`; `visitor`: the visitor declined a record; `corrupt`: unreadable bytes at `next`. */
  readonly stop: 'end' | 'visitor' | 'corrupt';
  readonly reason?: string;
}

const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads the records of one segment file between `from` and `limit`, in chunks, and hands each to
 * `visit`, which returns false to leave that record unread and stop. Stops at the first record
 * that is corrupt or that `limit` cuts short (a torn write).
 */
export async function readSegmentRecords(
  handle: FileHandle,
  from: number,
  limit: number,
  visit: (record: DecodedSpoolRecord, offset: number) => boolean,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Promise<SegmentReadResult> {
  let offset = from;
  let wanted = chunkBytes;
  while (offset < limit) {
    const requested = Math.min(limit - offset, wanted);
    const buffer = await readAt(handle, offset, requested);
    const fileEnded = buffer.length < requested;
    wanted = chunkBytes;
    let local = 0;
    while (local < buffer.length) {
      const decoded = decodeRecord(buffer, local);
      if (decoded.status === 'corrupt')
        return { next: offset + local, stop: 'corrupt', reason: decoded.reason };
      if (decoded.status === 'incomplete') {
        if (fileEnded || offset + local + decoded.needed > limit)
          return { next: offset + local, stop: 'corrupt', reason: 'the last record is torn' };
        // The chunk ends inside this record: read again from its start, large enough to hold it.
        if (local === 0) wanted = decoded.needed;
        break;
      }
      if (!visit(decoded, offset + local)) return { next: offset + local, stop: 'visitor' };
      local += decoded.size;
    }
    if (fileEnded && local === buffer.length)
      return { next: offset + local, stop: 'corrupt', reason: 'the file ends early' };
    offset += local;
  }
  return { next: offset, stop: 'end' };
}

/** Reads up to `length` bytes at `position`; shorter only at the end of the file. */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}
