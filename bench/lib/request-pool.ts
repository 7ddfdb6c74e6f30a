import { writeFileSync } from 'node:fs';
import {
  createRandom,
  createRequestSource,
  loadSessionSteps,
  type GeneratedRequest,
} from '../../src/loadgen/index.js';
import { BENCH_ORIGIN } from './pharos-instance.js';

/** Stand-ins in the raw requests, replaced by `wrk-pool.lua` on every request. */
export const KEY_PLACEHOLDER = 'BENCHAPPKEYPLACEHOLDER';
export const IDEMPOTENCY_PLACEHOLDER = 'BENCHIDEMPOTENCYPLACEHOLDER';

export interface PoolOptions {
  /** Raw requests in the pool: the simulated sessions' requests, in order. */
  readonly requests: number;
  readonly sessions: number;
  readonly gzipShare: number;
  readonly seed: number;
}

/**
 * Writes the simulated sessions' requests (the same generator as `pharos loadgen`) as raw
 * HTTP/1.1 requests for wrk: `<length>\n<bytes>` records. The app key and the idempotency key are
 * placeholders that the Lua script fills per request, so one pool serves one app or 10,000, and
 * no idempotency key repeats (a collector that deduplicates must not skip work in a bench).
 * Session and trace ids repeat once wrk has gone through the pool; nothing downstream cares.
 */
export function writeRequestPool(file: string, options: PoolOptions): void {
  const source = createRequestSource({
    steps: loadSessionSteps(),
    apps: [{ key: KEY_PLACEHOLDER, origin: BENCH_ORIGIN }],
    sessions: options.sessions,
    gzipShare: options.gzipShare,
    keyPlacement: 'path',
    collectPath: '/collect',
    random: createRandom(options.seed),
  });
  const records: Buffer[] = [];
  for (let index = 0; index < options.requests; index++) {
    const raw = rawRequest(source.next());
    records.push(Buffer.from(`${raw.length}\n`), raw);
  }
  writeFileSync(file, Buffer.concat(records));
}

function rawRequest(request: GeneratedRequest): Buffer {
  const headers = { ...request.headers, 'idempotency-key': IDEMPOTENCY_PLACEHOLDER };
  const lines = [`POST ${request.path} HTTP/1.1`, 'host: 127.0.0.1'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${request.body.length}`, '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), request.body]);
}
