import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { Redis } from 'ioredis';

/** The shared test Redis. Tests use their own key prefix and never flush. */
export const REDIS_URL = process.env.PHAROS_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(): string {
  return `pharos-test:${randomUUID()}:`;
}

/** Deletes every key under `prefix` (SCAN, never FLUSHALL: the Redis is shared). */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A TCP proxy in front of the test Redis that a test can take down and bring back on the same
 * port, to see what Pharos does when Redis goes away (the shared Redis itself must stay up).
 */
export async function startRedisProxy(): Promise<{
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 6379), target.hostname);
        sockets.add(client).add(upstream);
        const forget = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', forget).on('close', forget);
        upstream.on('error', forget).on('close', forget);
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server?.address() as AddressInfo).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (server === undefined) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await listen();
  return { url: `redis://127.0.0.1:${port}`, down: stop, up: listen, close: stop };
}
