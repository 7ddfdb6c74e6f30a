import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { syncDirectory } from './file-io.js';
import { readSegmentRecords } from './read-records.js';
import {
  comparePositions,
  FIRST_SEGMENT_ID,
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  segmentFileName,
  segmentStart,
  SegmentTable,
  type SpoolPosition,
} from './segment-table.js';
import { readSpoolState, SPOOL_STATE_TEMP_FILE } from './spool-state.js';

export interface RecoveredSpool {
  readonly segments: SegmentTable;
  /** The last segment, open for appending; its size is where the last whole record ends. */
  readonly writeSegment: { readonly id: number; readonly handle: FileHandle };
  readonly ack: SpoolPosition;
  /** Records between `ack` and `sent` may have reached the backend before the restart. */
  readonly sent: SpoolPosition;
}

/**
 * Opens a spool directory as the last process left it, cleanly or not:
 * - segments before the acknowledged position are deleted (they were delivered);
 * - the last segment is scanned record by record and cut at the first torn or corrupt record, so a
 *   crash in the middle of a write loses only that write (which was never acknowledged) and never
 *   yields garbage. Earlier segments are complete (a segment is sealed only after its last write
 *   finished); if one is damaged anyway, the reader skips its unreadable rest when it gets there.
 * - without a readable state file, delivery restarts from the first segment, and every record is
 *   taken as possibly sent (redelivered), since nothing proves otherwise.
 */
export async function recoverSpool(
  dir: string,
  logger: Logger,
  durable: boolean,
): Promise<RecoveredSpool> {
  await mkdir(dir, { recursive: true });
  await rm(join(dir, SPOOL_STATE_TEMP_FILE), { force: true });
  const ids = (await readdir(dir))
    .map(parseSegmentFileName)
    .filter((id): id is number => id !== undefined)
    .sort((a, b) => a - b);
  const stored = await readSpoolState(dir);
  if (stored !== 'missing' && typeof stored !== 'object')
    logger.warn({ dir }, 'spool state unreadable; replaying the whole spool as redelivery');
  else if (stored === 'missing' && ids.length > 0)
    logger.warn({ dir }, 'spool state missing; replaying the whole spool as redelivery');
  const state = typeof stored === 'object' ? stored : undefined;

  // Segments before the acknowledged one are done.
  const firstNeeded = state?.ack.segment ?? Number.NEGATIVE_INFINITY;
  for (const id of ids.filter((id) => id < firstNeeded)) await rm(join(dir, segmentFileName(id)));
  const live = ids.filter((id) => id >= firstNeeded);
  if (live.length === 0)
    live.push(await createSegment(dir, state?.ack.segment ?? FIRST_SEGMENT_ID));

  const segments = new SegmentTable();
  const lastId = live[live.length - 1] as number;
  let writeHandle: FileHandle | undefined;
  for (const id of live) {
    const path = join(dir, segmentFileName(id));
    const handle = await open(path, 'r+');
    const { size } = await handle.stat();
    const headerOk = size >= SEGMENT_HEADER_BYTES && (await hasSegmentHeader(handle));
    if (id !== lastId) {
      await handle.close();
      if (!headerOk)
        logger.error({ dir, segment: id }, 'spool segment without a valid header; skipped');
      segments.add(id, headerOk ? size : SEGMENT_HEADER_BYTES, true);
      continue;
    }
    writeHandle = handle;
    if (!headerOk) {
      // A segment created just before a crash: its header never made it to disk.
      await handle.truncate(0);
      await handle.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
      segments.add(id, SEGMENT_HEADER_BYTES, false);
    } else {
      segments.add(id, await cutTornTail(handle, size, dir, id, logger), false);
    }
    if (durable) await handle.datasync();
  }
  if (writeHandle === undefined) throw new Error('spool recovery found no segment to write');

  const end = { segment: lastId, offset: segments.size(lastId) };
  const first = segmentStart(live[0] as number);
  const ack = clamp(segments.normalize(state?.ack ?? first), first, end, segments);
  // Without a state, nothing proves a record was not sent: all of them count as redelivered.
  const sent = clamp(segments.normalize(state?.sent ?? end), ack, end, segments);
  return { segments, writeSegment: { id: lastId, handle: writeHandle }, ack, sent };
}

/** Creates an empty segment (header only) and makes its name durable. */
export async function createSegment(dir: string, id: number): Promise<number> {
  const handle = await open(join(dir, segmentFileName(id)), 'wx');
  try {
    await handle.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await syncDirectory(dir);
  return id;
}

async function hasSegmentHeader(handle: FileHandle): Promise<boolean> {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  const { bytesRead } = await handle.read(header, 0, SEGMENT_HEADER_BYTES, 0);
  return bytesRead === SEGMENT_HEADER_BYTES && header.equals(SEGMENT_MAGIC);
}

/** Returns the end of the last whole, valid record, truncating anything after it. */
async function cutTornTail(
  handle: FileHandle,
  size: number,
  dir: string,
  segment: number,
  logger: Logger,
): Promise<number> {
  const result = await readSegmentRecords(handle, SEGMENT_HEADER_BYTES, size, () => true);
  if (result.stop === 'corrupt') {
    logger.warn(
      { dir, segment, offset: result.next, bytes: size - result.next, reason: result.reason },
      'spool ends with a torn or corrupt record (a write cut short); cutting it off',
    );
    await handle.truncate(result.next);
  }
  return result.next;
}

function clamp(
  position: SpoolPosition,
  low: SpoolPosition,
  high: SpoolPosition,
  segments: SegmentTable,
): SpoolPosition {
  if (comparePositions(position, low) < 0) return low;
  if (comparePositions(position, high) > 0) return segments.normalize(high);
  return position;
}
