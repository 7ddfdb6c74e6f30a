import { open, type FileHandle } from 'node:fs/promises';

/**
 * fsyncs a directory, so that files created, renamed or deleted in it survive a power loss.
 * Some platforms cannot open a directory for syncing; there it is skipped.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    await handle.close();
  }
}

/** Writes all buffers at `position`, continuing after partial writes. */
export async function writeAll(
  handle: FileHandle,
  buffers: readonly Buffer[],
  position: number,
): Promise<void> {
  let remaining = buffers.filter((buffer) => buffer.length > 0);
  let at = position;
  while (remaining.length > 0) {
    const { bytesWritten } = await handle.writev(remaining, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const buffer of remaining) {
      if (skip >= buffer.length) {
        skip -= buffer.length;
        continue;
      }
      rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
      skip = 0;
    }
    if (bytesWritten === 0 && rest.length > 0) throw new Error('spool write made no progress');
    remaining = rest;
  }
}
