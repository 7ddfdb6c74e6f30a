import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { syncDirectory } from './file-io.js';
import type { SpoolPosition } from './segment-table.js';

/**
 * What the spool remembers across restarts, in `state.json`:
 * - `ack`: the first record not yet acknowledged by the backend (delivered or dropped). Records
 *   before it are done; on restart, delivery resumes here.
 * - `sent`: the end of the last record handed to the backend. Records between `ack` and `sent`
 *   may already be in the backend: after a restart they are sent again and counted as redelivered.
 */
export interface SpoolState {
  readonly ack: SpoolPosition;
  readonly sent: SpoolPosition;
}

const STATE_FILE = 'state.json';
const TEMP_FILE = 'state.json.tmp';
const VERSION = 1;

export type StoredState = SpoolState | 'missing' | 'corrupt';

export async function readSpoolState(dir: string): Promise<StoredState> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as { version?: unknown; ack?: unknown; sent?: unknown };
    if (parsed.version !== VERSION || !isPosition(parsed.ack) || !isPosition(parsed.sent))
      return 'corrupt';
    return { ack: parsed.ack, sent: parsed.sent };
  } catch {
    return 'corrupt';
  }
}

function isPosition(value: unknown): value is SpoolPosition {
  if (typeof value !== 'object' || value === null) return false;
  const { segment, offset } = value as { segment?: unknown; offset?: unknown };
  return Number.isSafeInteger(segment) && Number.isSafeInteger(offset) && (offset as number) >= 0;
}

/**
 * Writes the state atomically (temporary file, then rename: a reader sees the old or the new file,
 * never half of one). Writes are serialised, and requests made while one is under way share the
 * next write, which takes the state as it is when it starts.
 *
 * Only `sync` writes (at shutdown) are fsync'd. Between them, a power loss may bring back an older
 * state; that only means more redelivery (the ack is older) or an undercounted redelivery metric,
 * never lost data. A process crash cannot lose a completed write: it is in the page cache.
 */
export class SpoolStateFile {
  private running: Promise<void> = Promise.resolve();
  private queued: { promise: Promise<void>; sync: boolean } | undefined;
  writes = 0;

  constructor(
    private readonly dir: string,
    private readonly snapshot: () => SpoolState,
    private readonly logger: Logger,
  ) {}

  /** Writes the current state; resolves once written (never rejects: failures are logged). */
  write(options: { sync?: boolean } = {}): Promise<void> {
    const sync = options.sync ?? false;
    if (this.queued) {
      this.queued.sync ||= sync;
      return this.queued.promise;
    }
    const queued = { promise: Promise.resolve(), sync };
    queued.promise = this.running.then(async () => {
      this.queued = undefined;
      try {
        await this.writeNow(queued.sync);
      } catch (error) {
        this.logger.warn({ err: error, dir: this.dir }, 'could not write the spool state');
      }
    });
    this.queued = queued;
    this.running = queued.promise;
    return queued.promise;
  }

  private async writeNow(sync: boolean): Promise<void> {
    const temp = join(this.dir, TEMP_FILE);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify({ version: VERSION, ...this.snapshot() }));
      if (sync) await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(this.dir, STATE_FILE));
    if (sync) await syncDirectory(this.dir);
    this.writes++;
  }
}

export const SPOOL_STATE_TEMP_FILE = TEMP_FILE;
