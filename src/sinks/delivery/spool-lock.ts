import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Spool directories open in this process (another instance here would corrupt them). */
const openInThisProcess = new Set<string>();

const LOCK_FILE = 'lock';

/**
 * Takes the spool directory for this process: two writers on one spool would interleave records
 * and acknowledge each other's data. The lock file holds the owner's pid; a lock left by a process
 * that no longer runs (a crash) is taken over. Returns the release function.
 */
export function lockSpoolDirectory(dir: string): () => void {
  const key = resolve(dir);
  if (openInThisProcess.has(key)) throw new Error(`the spool ${dir} is already open`);
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const owner = Number(readFileSync(path, 'utf8').trim());
      // Our own pid in a lock we do not hold: left by an earlier run that had the same pid (pid 1
      // in a container). Any other live pid owns it.
      if (Number.isSafeInteger(owner) && owner !== process.pid && isRunning(owner))
        throw new Error(`the spool ${dir} is in use by process ${owner}`);
      unlinkSync(path);
    }
  }
  openInThisProcess.add(key);
  return () => {
    if (!openInThisProcess.delete(key)) return;
    try {
      unlinkSync(path);
    } catch {
      // Already gone: nothing to release.
    }
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
