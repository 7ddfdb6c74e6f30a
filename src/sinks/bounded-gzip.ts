import { promisify } from 'node:util';
import zlib from 'node:zlib';
import pLimit from 'p-limit';

const gzipOnThreadPool = promisify(zlib.gzip);

/**
 * Push bodies are gzipped on libuv's thread pool, which has `UV_THREADPOOL_SIZE` threads (4 by
 * default); more compressions at once only wait there. They wait here instead: a zlib stream
 * takes its deflate state (~270 KiB) when it is made, not when a thread picks it up, so with a
 * hundred tenants whose trace queues push in the same second, 60 compressions were waiting at
 * once with 17 MiB of state (docs/performance.md, finding 19).
 */
const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
const compressions = pLimit(threads);

/** `zlib.gzip`, at most one compression per thread-pool thread across the process. */
export function gzipBounded(data: Buffer, options: zlib.ZlibOptions = {}): Promise<Buffer> {
  return compressions(() => gzipOnThreadPool(data, options));
}

/** Compressions under way and waiting for a thread (for tests and diagnostics). */
export function gzipsInProgress(): { readonly running: number; readonly waiting: number } {
  return { running: compressions.activeCount, waiting: compressions.pendingCount };
}
