import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PharosConfig } from '../../config/index.js';

/**
 * Files every worker shares with worker 1: the SQLite registry (and the source maps in it), the
 * embedded store and the admin token. SQLite follows a symbolic link to the real file, so its
 * `-wal` and `-shm` files, and the locking, are the real file's.
 */
const SHARED_FILES = ['registry.db', 'telemetry.db', 'admin-token'] as const;

/**
 * `<dataDir>/worker-<k>`: the data directory of cluster worker k > 1. Worker 1 uses `<dataDir>`
 * itself, so going from one process to N workers and back never strands what was queued.
 */
export function workerDataDir(dataDir: string, slot: number): string {
  return slot === 1 ? dataDir : join(dataDir, `worker-${slot}`);
}

/** Where a worker keeps its delivery spools (`<its data dir>/spool`, as the sink router does). */
export function workerSpoolDir(dataDir: string, slot: number): string {
  return join(workerDataDir(dataDir, slot), 'spool');
}

/**
 * The configuration worker `slot` starts Pharos with. A delivery spool has exactly one writer, so
 * every worker needs its own; Pharos puts its spools under `dataDir`, so worker k > 1 gets a data
 * directory of its own in which the shared files are links to worker 1's. Worker 1 has started
 * (and created them) before any other is forked.
 */
export function workerConfig(
  config: Readonly<PharosConfig>,
  slot: number,
  count: number,
): Readonly<PharosConfig> {
  // Each worker counts limits alone whenever they are not in Redis (none configured, or
  // unreachable): it must keep to its share of every limit, as a replica does.
  const limits = { ...config.limits, replicas: config.limits.replicas * count };
  if (slot === 1) return { ...config, limits };
  const shared = resolve(config.dataDir);
  const dir = workerDataDir(shared, slot);
  mkdirSync(dir, { recursive: true });
  for (const file of SHARED_FILES) {
    const link = join(dir, file);
    // A missing file stays missing (no store, or PostgreSQL for the registry): a dangling link
    // would make this worker create the file somewhere nobody reads it.
    if (existsSync(join(shared, file)) && !existsSync(link)) symlinkSync(join(shared, file), link);
  }
  return { ...config, limits, dataDir: dir };
}

/** Worker slots above `count` whose data directories hold spools nobody delivers now. */
export function orphanWorkerDirs(dataDir: string, count: number): number[] {
  if (!existsSync(dataDir)) return [];
  const slots: number[] = [];
  for (const entry of readdirSync(dataDir)) {
    const match = /^worker-(\d+)$/.exec(entry);
    if (match && Number(match[1]) > count && existsSync(join(dataDir, entry, 'spool')))
      slots.push(Number(match[1]));
  }
  return slots.sort((a, b) => a - b);
}
