/*
 * The spool is a sequence of segment files, ordered by a numeric id in their names. A position is
 * (segment id, byte offset) of a record boundary: where a record starts, or where the previous one
 * ends. The end of a sealed segment (one that will never grow again) and the start of the next
 * segment are the same position; `normalize` picks the latter so that positions compare simply.
 */

export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

/** Every segment file starts with this magic and format version. */
export const SEGMENT_MAGIC = Buffer.from('PHSPOOL1', 'latin1');
export const SEGMENT_HEADER_BYTES = SEGMENT_MAGIC.length;
/**
 * Id of the first segment of a new spool. Ids grow by one per segment; ids below it are left for
 * segments put in front of the queue at shutdown (see `Spool.spoolAtClose`).
 */
export const FIRST_SEGMENT_ID = 1_000_000_000_000;

const SEGMENT_NAME = /^(\d{16})\.seg$/;

export function segmentFileName(id: number): string {
  return `${String(id).padStart(16, '0')}.seg`;
}

export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export function comparePositions(a: SpoolPosition, b: SpoolPosition): number {
  return a.segment === b.segment ? a.offset - b.offset : a.segment - b.segment;
}

export function segmentStart(segment: number): SpoolPosition {
  return { segment, offset: SEGMENT_HEADER_BYTES };
}

interface SegmentInfo {
  /** Bytes of the file that belong to the spool (the write segment: what has been written). */
  size: number;
  /** Sealed segments never grow; only the last segment is written to. */
  sealed: boolean;
}

/** The segments that exist, in queue order, with their sizes. */
export class SegmentTable {
  private readonly info = new Map<number, SegmentInfo>();
  private ids: number[] = [];

  add(id: number, size: number, sealed: boolean): void {
    this.info.set(id, { size, sealed });
    this.ids.push(id);
    this.ids.sort((a, b) => a - b);
  }

  remove(id: number): void {
    this.info.delete(id);
    this.ids = this.ids.filter((existing) => existing !== id);
  }

  has(id: number): boolean {
    return this.info.has(id);
  }

  /** Segment ids in queue order. */
  list(): readonly number[] {
    return this.ids;
  }

  size(id: number): number {
    return this.info.get(id)?.size ?? SEGMENT_HEADER_BYTES;
  }

  setSize(id: number, size: number): void {
    const segment = this.info.get(id);
    if (segment) segment.size = size;
  }

  seal(id: number): void {
    const segment = this.info.get(id);
    if (segment) segment.sealed = true;
  }

  isSealed(id: number): boolean {
    return this.info.get(id)?.sealed ?? true;
  }

  /** The segment after `id` in queue order, if any. */
  next(id: number): number | undefined {
    return this.ids.find((candidate) => candidate > id);
  }

  /**
   * The canonical form of a position: the end of a sealed segment becomes the start of the next
   * one, and a position in a segment that no longer exists (deleted once acknowledged) becomes
   * the start of the first segment after it.
   */
  normalize(position: SpoolPosition): SpoolPosition {
    let current = position;
    for (;;) {
      const segment = this.info.get(current.segment);
      const atEnd = segment === undefined || (segment.sealed && current.offset >= segment.size);
      if (!atEnd) return current;
      const next = this.next(current.segment);
      if (next === undefined) return current;
      current = segmentStart(next);
    }
  }

  /** Record bytes (segment headers excluded) from `from` to `to`; 0 when `to` is not after `from`. */
  distance(from: SpoolPosition, to: SpoolPosition): number {
    const start = this.normalize(from);
    const end = this.normalize(to);
    if (comparePositions(start, end) >= 0) return 0;
    if (start.segment === end.segment) return end.offset - start.offset;
    let bytes = Math.max(0, this.size(start.segment) - start.offset);
    for (const id of this.ids) {
      if (id > start.segment && id < end.segment)
        bytes += Math.max(0, this.size(id) - SEGMENT_HEADER_BYTES);
    }
    return bytes + Math.max(0, end.offset - SEGMENT_HEADER_BYTES);
  }
}
