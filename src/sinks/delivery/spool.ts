import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { syncDirectory, writeAll } from './file-io.js';
import { GroupCommit } from './group-commit.js';
import { totalItems } from './item-counts.js';
import { ReadAheadCache } from './read-ahead-cache.js';
import { readSegmentRecords } from './read-records.js';
import { encodeRecord, RECORD_HEADER_BYTES, type RecordMeta } from './record-format.js';
import {
  comparePositions,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  segmentFileName,
  segmentStart,
  type SegmentTable,
  type SpoolPosition,
} from './segment-table.js';
import { lockSpoolDirectory } from './spool-lock.js';
import { recoverSpool } from './spool-recovery.js';
import { SpoolStateFile } from './spool-state.js';
import type { SinkProtocol, Unit } from './types.js';

export interface SpoolOptions {
  readonly dir: string;
  /** fdatasync every group commit (disk durability); otherwise only at segment roll and close. */
  readonly durable: boolean;
  /** A segment is sealed and a new one started once it holds this many bytes. */
  readonly segmentBytes: number;
  /** The acknowledged position is written to disk at most this often (and at close). */
  readonly stateIntervalMs: number;
  /** Bytes of unit values the read-ahead cache may hold at the moment. */
  readonly cacheLimitBytes: () => number;
  readonly logger: Logger;
  /** Called after every completed write, so that the sender can look for new records. */
  readonly onWritten: () => void;
}

export type SpoolCodec<T> = Pick<SinkProtocol<T>, 'serialize' | 'deserialize'>;

/** A spooled unit handed to the sender. */
export interface SpoolEntry<T> {
  readonly value: T;
  readonly meta: RecordMeta;
  /** It was in the spool before this process started, and the last process may have sent it. */
  readonly maybeSent: boolean;
}

export interface SpoolLease<T> {
  readonly entries: readonly SpoolEntry<T>[];
  /** Records whose value the protocol could not deserialise (dropped; counted by the caller). */
  readonly unreadable: readonly RecordMeta[];
  /** Where the next record starts: acknowledging the lease moves the cursor here. */
  readonly end: SpoolPosition;
}

export interface SpoolLimits {
  readonly maxItems: number;
  readonly maxBytes: number;
}

interface PendingRecord<T> {
  readonly record: Buffer;
  readonly unit: Unit<T>;
  readonly arrivedAt: number;
}

export interface RecordLocation {
  readonly start: SpoolPosition;
  readonly end: SpoolPosition;
}

/**
 * The on-disk part of a delivery queue: records appended at the tail of segment files, read and
 * acknowledged from the head. `index.ts` describes the files.
 *
 * Appends go through group commit (one write, plus one fdatasync in durable mode, per group).
 * Records just written are also kept in a read-ahead cache (bounded by `cacheLimitBytes`), so that
 * when the sender keeps up, it takes them from memory instead of reading and deserialising them.
 * The cache always holds the records right after the read position, in order, or nothing.
 */
export class Spool<T> {
  private readonly segments: SegmentTable;
  private writeSegment: { id: number; handle: FileHandle };
  private ack: SpoolPosition;
  private readPosition: SpoolPosition;
  private sentMark: SpoolPosition;
  /** Records before this position were in the spool at open and may have been sent then. */
  private readonly maybeSentUntil: SpoolPosition;
  /** Bytes of written records not yet acknowledged. */
  private writtenBytes: number;
  /** Bytes of records waiting for their group commit. */
  private pendingBytes = 0;
  private readonly writer: GroupCommit<PendingRecord<T>, RecordLocation>;
  private readonly cache = new ReadAheadCache<T>();
  private readonly state: SpoolStateFile;
  private stateTimer: NodeJS.Timeout | undefined;
  /** After a failed write: the size to cut the write segment back to before the next one. */
  private dirtyTailAt: number | undefined;
  private rollRequested = false;
  private readHandle: { id: number; handle: FileHandle } | undefined;
  private closed = false;
  /** Group commits written, and fdatasyncs issued for them (tests and stats). */
  groupWrites = 0;
  syncs = 0;

  private constructor(
    private readonly options: SpoolOptions,
    private readonly codec: SpoolCodec<T>,
    recovered: Awaited<ReturnType<typeof recoverSpool>>,
    private readonly unlock: () => void,
  ) {
    this.segments = recovered.segments;
    this.writeSegment = recovered.writeSegment;
    this.ack = recovered.ack;
    this.readPosition = recovered.ack;
    this.sentMark = recovered.sent;
    this.maybeSentUntil = recovered.sent;
    this.writtenBytes = this.segments.distance(this.ack, this.writtenEnd());
    this.writer = new GroupCommit((records) => this.commit(records));
    this.state = new SpoolStateFile(
      options.dir,
      () => ({ ack: this.ack, sent: this.maxPosition(this.sentMark, this.ack) }),
      options.logger,
    );
  }

  static async open<T>(options: SpoolOptions, codec: SpoolCodec<T>): Promise<Spool<T>> {
    await mkdir(options.dir, { recursive: true });
    const unlock = lockSpoolDirectory(options.dir);
    try {
      const recovered = await recoverSpool(options.dir, options.logger, options.durable);
      const spool = new Spool(options, codec, recovered, unlock);
      await spool.state.write({ sync: true });
      return spool;
    } catch (error) {
      unlock();
      throw error;
    }
  }

  /** Bytes in the spool not yet acknowledged, including records still being written. */
  get bytes(): number {
    return this.writtenBytes + this.pendingBytes;
  }

  /** Nothing waits in the spool: every record is acknowledged and no write is pending. */
  get isEmpty(): boolean {
    return this.pendingBytes === 0 && this.writer.pending === 0 && this.writtenBytes === 0;
  }

  get segmentCount(): number {
    return this.segments.list().length;
  }

  get stateWrites(): number {
    return this.state.writes;
  }

  /** The size a unit would take in the spool, before it is serialised (for room checks). */
  static estimateBytes(unit: Unit<unknown>): number {
    return unit.bytes + RECORD_HEADER_BYTES + 64;
  }

  /**
   * Appends a unit. Resolves with its location once it is written (and on disk, in durable mode).
   * Rejects if the write failed; the unit is then not in the spool.
   */
  append(unit: Unit<T>, arrivedAt: number): Promise<RecordLocation> {
    if (this.closed) return Promise.reject(new Error('the spool is closed'));
    const record = encodeRecord(
      { bytes: unit.bytes, items: unit.items },
      this.codec.serialize(unit.value),
    );
    this.pendingBytes += record.length;
    return this.writer.add({ record, unit, arrivedAt });
  }

  /** Starts the next write in a new segment (if the current one holds records). */
  startNewSegment(): void {
    this.rollRequested = true;
  }

  /** What the sender needs to decide whether to push now (see `DeliveryQueue.readiness`). */
  peek(): {
    readonly unreadOnDisk: boolean;
    readonly cached: { readonly items: number; readonly bytes: number; readonly oldestAt?: number };
  } {
    const { items, bytes, oldestArrival } = this.cache;
    return {
      unreadOnDisk: comparePositions(this.cacheEnd(), this.writtenEnd()) < 0,
      cached: { items, bytes, oldestAt: oldestArrival },
    };
  }

  /**
   * The next records after the read position, within `limits` (at least one record), from the
   * cache or else from disk. Undefined when there is nothing written to read.
   */
  async take(limits: SpoolLimits): Promise<SpoolLease<T> | undefined> {
    if (this.cache.length > 0) return this.takeCached(limits);
    if (comparePositions(this.normalized(this.readPosition), this.writtenEnd()) >= 0)
      return undefined;
    return this.readFromDisk(limits);
  }

  /** Records that the lease ending at `end` is about to be sent (before sending it). */
  async markSent(end: SpoolPosition): Promise<void> {
    if (comparePositions(this.normalized(end), this.normalized(this.sentMark)) <= 0) return;
    this.sentMark = this.normalized(end);
    await this.state.write();
  }

  /** Acknowledges every record before `end` (delivered or dropped): they will not be read again. */
  acknowledge(end: SpoolPosition): void {
    const next = this.normalized(end);
    if (comparePositions(next, this.ack) <= 0) return;
    this.writtenBytes -= this.segments.distance(this.ack, next);
    this.ack = next;
    if (comparePositions(this.normalized(this.readPosition), next) < 0) this.readPosition = next;
    this.deleteSegmentsBefore(next.segment);
    this.stateTimer ??= setTimeout(() => {
      this.stateTimer = undefined;
      void this.state.write();
    }, this.options.stateIntervalMs).unref();
  }

  /**
   * At shutdown, puts units that waited in memory into the spool, in front of everything already
   * there (they are older). The first `maybeSentCount` of them were being pushed when the sender
   * stopped, so they count as possibly sent.
   *
   * Memory holds units only while the spool is empty, or since the spool started to take the
   * overflow, which always begins a new segment (`startNewSegment`). So the records not yet
   * acknowledged start at the beginning of a segment, and the units go into a new segment just
   * before it. The state file then points to that segment; until it is written, a crash leaves the
   * segment before the acknowledged position, where recovery deletes it (memory durability never
   * promised to survive a crash).
   */
  async spoolAtClose(units: readonly Unit<T>[], maybeSentCount: number): Promise<void> {
    await this.writer.idle();
    if (units.length === 0) return;
    const locations = this.isEmpty
      ? await Promise.all(units.map((unit) => this.append(unit, 0)))
      : await this.prependSegment(units);
    if (locations === undefined) return;
    const lastSent =
      maybeSentCount > 0 ? locations[Math.min(maybeSentCount, units.length) - 1] : undefined;
    this.readPosition = this.ack;
    this.sentMark = lastSent === undefined ? this.ack : lastSent.end;
  }

  /** Waits for pending writes, makes everything durable, writes the state, releases the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.writer.idle();
    this.closed = true;
    if (this.stateTimer) clearTimeout(this.stateTimer);
    try {
      if (!this.options.durable) await this.writeSegment.handle.datasync();
      await this.state.write({ sync: true });
    } finally {
      await this.writeSegment.handle.close().catch(() => undefined);
      await this.readHandle?.handle.close().catch(() => undefined);
      this.readHandle = undefined;
      this.unlock();
    }
  }

  private writtenEnd(): SpoolPosition {
    return this.segments.normalize({
      segment: this.writeSegment.id,
      offset: this.segments.size(this.writeSegment.id),
    });
  }

  /** Where the read-ahead cache ends: the first record it does not hold. */
  private cacheEnd(): SpoolPosition {
    return this.normalized(this.cache.lastEnd ?? this.readPosition);
  }

  private normalized(position: SpoolPosition): SpoolPosition {
    return this.segments.normalize(position);
  }

  private maxPosition(a: SpoolPosition, b: SpoolPosition): SpoolPosition {
    return comparePositions(a, b) >= 0 ? a : b;
  }

  /** One group commit: roll if needed, one write, one fdatasync in durable mode. */
  private async commit(group: readonly PendingRecord<T>[]): Promise<RecordLocation[]> {
    const groupBytes = group.reduce((sum, pending) => sum + pending.record.length, 0);
    let sizeBefore: number | undefined;
    try {
      if (this.dirtyTailAt !== undefined) {
        await this.writeSegment.handle.truncate(this.dirtyTailAt);
        this.dirtyTailAt = undefined;
      }
      const current = this.segments.size(this.writeSegment.id);
      const hasRecords = current > SEGMENT_HEADER_BYTES;
      if (hasRecords && (this.rollRequested || current >= this.options.segmentBytes))
        await this.roll();
      this.rollRequested = false;
      const { id, handle } = this.writeSegment;
      sizeBefore = this.segments.size(id);
      await writeAll(
        handle,
        group.map((pending) => pending.record),
        sizeBefore,
      );
      if (this.options.durable) {
        await handle.datasync();
        this.syncs++;
      }
      this.groupWrites++;
    } catch (error) {
      if (sizeBefore !== undefined) this.dirtyTailAt = sizeBefore;
      this.pendingBytes -= groupBytes;
      this.options.onWritten();
      throw error;
    }
    // From here on, synchronous: the bookkeeping matches the file at every await point.
    const { id } = this.writeSegment;
    let offset = sizeBefore;
    const locations: RecordLocation[] = [];
    for (const pending of group) {
      const start = { segment: id, offset };
      offset += pending.record.length;
      const end = { segment: id, offset };
      locations.push({ start, end });
      this.cacheIfContiguous(pending, start, end);
    }
    this.segments.setSize(id, offset);
    this.pendingBytes -= groupBytes;
    this.writtenBytes += groupBytes;
    this.options.onWritten();
    return locations;
  }

  /** Keeps a just-written record in the read-ahead cache if it directly follows what is cached. */
  private cacheIfContiguous(
    pending: PendingRecord<T>,
    start: SpoolPosition,
    end: SpoolPosition,
  ): void {
    if (comparePositions(this.cacheEnd(), this.normalized(start)) !== 0) return;
    if (this.cache.bytes + pending.unit.bytes > this.options.cacheLimitBytes()) return;
    this.cache.push({ unit: pending.unit, arrivedAt: pending.arrivedAt, end });
  }

  private takeCached(limits: SpoolLimits): SpoolLease<T> {
    const records = this.cache.take(limits);
    const last = records[records.length - 1];
    if (last !== undefined) this.readPosition = last.end;
    // Cached records were written by this process: none was sent before it started.
    const entries = records.map(({ unit }) => ({
      value: unit.value,
      meta: { bytes: unit.bytes, items: unit.items },
      maybeSent: false,
    }));
    return { entries, unreadable: [], end: this.readPosition };
  }

  private async readFromDisk(limits: SpoolLimits): Promise<SpoolLease<T>> {
    const entries: SpoolEntry<T>[] = [];
    const unreadable: RecordMeta[] = [];
    let items = 0;
    let bytes = 0;
    let position = this.normalized(this.readPosition);
    const end = this.writtenEnd();
    let full = false;
    while (!full && comparePositions(position, end) < 0) {
      const segment = position.segment;
      const limit = segment === end.segment ? end.offset : this.segments.size(segment);
      const handle = await this.readHandleFor(segment);
      const result = await readSegmentRecords(handle, position.offset, limit, (record, offset) => {
        const recordItems = totalItems(record.meta.items);
        const taken = entries.length + unreadable.length;
        if (
          taken > 0 &&
          (items + recordItems > limits.maxItems || bytes + record.meta.bytes > limits.maxBytes)
        ) {
          full = true;
          return false;
        }
        items += recordItems;
        bytes += record.meta.bytes;
        const maybeSent = comparePositions({ segment, offset }, this.maybeSentUntil) < 0;
        try {
          entries.push({
            value: this.codec.deserialize(record.value),
            meta: record.meta,
            maybeSent,
          });
        } catch (error) {
          this.options.logger.error(
            { err: error, dir: this.options.dir, segment, offset },
            'spooled value unreadable; dropped',
          );
          unreadable.push(record.meta);
        }
        return true;
      });
      if (result.stop === 'corrupt') {
        this.options.logger.error(
          {
            dir: this.options.dir,
            segment,
            offset: result.next,
            bytes: limit - result.next,
            reason: result.reason,
          },
          'spool segment damaged; skipping the rest of it',
        );
        position = this.normalized({ segment, offset: limit });
        if (segment === end.segment) break;
        continue;
      }
      position = this.normalized({ segment, offset: result.next });
    }
    this.readPosition = position;
    return { entries, unreadable, end: position };
  }

  /** The reader has its own handle: the writer may close its handle at any await (a roll). */
  private async readHandleFor(segment: number): Promise<FileHandle> {
    if (this.readHandle?.id === segment) return this.readHandle.handle;
    await this.readHandle?.handle.close();
    const handle = await open(join(this.options.dir, segmentFileName(segment)), 'r');
    this.readHandle = { id: segment, handle };
    return handle;
  }

  /** Seals the write segment and starts the next one. */
  private async roll(): Promise<void> {
    const old = this.writeSegment;
    // Memory durability syncs each segment once, when it is sealed: after that only the segment
    // being written can lose data to a power cut.
    if (!this.options.durable) await old.handle.datasync();
    const id = old.id + 1;
    // 'w': a file by this name can only be left over from a roll that failed half-way.
    const handle = await open(join(this.options.dir, segmentFileName(id)), 'w');
    await handle.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
    if (this.options.durable) {
      await handle.datasync();
      await syncDirectory(this.options.dir);
    }
    this.segments.seal(old.id);
    this.segments.add(id, SEGMENT_HEADER_BYTES, false);
    this.writeSegment = { id, handle };
    await old.handle.close();
  }

  private deleteSegmentsBefore(segment: number): void {
    for (const id of this.segments.list().filter((candidate) => candidate < segment)) {
      if (id === this.writeSegment.id) continue;
      this.segments.remove(id);
      if (this.readHandle?.id === id) {
        void this.readHandle.handle.close().catch(() => undefined);
        this.readHandle = undefined;
      }
      rm(join(this.options.dir, segmentFileName(id)), { force: true }).catch((error: unknown) =>
        this.options.logger.warn(
          { err: error, dir: this.options.dir, segment: id },
          'could not delete a delivered spool segment',
        ),
      );
    }
  }

  /** See `spoolAtClose`. Returns undefined when the units had to go to the tail instead. */
  private async prependSegment(units: readonly Unit<T>[]): Promise<RecordLocation[] | undefined> {
    const head = this.normalized(this.ack);
    if (head.offset !== SEGMENT_HEADER_BYTES) {
      this.options.logger.error(
        { dir: this.options.dir },
        'cannot put shutdown units in front of the spool; appending them (their order is not kept)',
      );
      await Promise.all(units.map((unit) => this.append(unit, 0)));
      return undefined;
    }
    // The new segment takes the id just before the head. Segments there are fully acknowledged:
    // record that first, so that no state on disk ever points into the segment being replaced.
    this.ack = head;
    await this.state.write({ sync: true });
    for (const id of this.segments.list().filter((candidate) => candidate < head.segment)) {
      this.segments.remove(id);
      if (this.readHandle?.id === id) {
        await this.readHandle.handle.close().catch(() => undefined);
        this.readHandle = undefined;
      }
      await rm(join(this.options.dir, segmentFileName(id)), { force: true });
    }
    const id = head.segment - 1;
    const records = units.map((unit) =>
      encodeRecord({ bytes: unit.bytes, items: unit.items }, this.codec.serialize(unit.value)),
    );
    const handle = await open(join(this.options.dir, segmentFileName(id)), 'w');
    try {
      await writeAll(handle, [SEGMENT_MAGIC, ...records], 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await syncDirectory(this.options.dir);
    const locations: RecordLocation[] = [];
    let offset = SEGMENT_HEADER_BYTES;
    for (const record of records) {
      const start = { segment: id, offset };
      offset += record.length;
      locations.push({ start, end: { segment: id, offset } });
    }
    this.segments.add(id, offset, true);
    this.ack = segmentStart(id);
    this.writtenBytes += offset - SEGMENT_HEADER_BYTES;
    return locations;
  }
}
