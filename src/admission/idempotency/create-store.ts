import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { FallbackIdempotencyStore } from './fallback-store.js';
import { MemoryIdempotencyStore } from './memory-store.js';
import { RedisIdempotencyStore } from './redis-store.js';
import type { IdempotencyStore } from './store.js';

export interface IdempotencyStoreSettings {
  /** `redis.url`; empty: memory only. */
  redisUrl: string;
  /** `redis.keyPrefix` */
  keyPrefix: string;
  /** `idempotency.maxKeys`: bound of the memory store (also the fallback while Redis is down). */
  maxKeys: number;
  logger: Logger;
  onFallback?: () => void;
  /** An existing client to share (the rate limits' one, say); otherwise one is made from the URL. */
  redis?: Redis;
  /** How long `ready` waits for a first connection (default 2 s). */
  connectTimeoutMs?: number;
}

export interface IdempotencyStoreHandle {
  store: IdempotencyStore;
  /**
   * Resolves once Redis is connected, or after `connectTimeoutMs` (never rejects): awaited at
   * start, so the first requests do not fall back to memory only because the connection was
   * still being made. If Redis is down at start, Pharos starts anyway, on memory.
   */
  ready: Promise<void>;
  /** Disconnects the client this made (a shared one is left to its owner). */
  close(): Promise<void>;
}

/** The store the configuration asks for: memory, or Redis with memory as its fallback. */
export function createIdempotencyStore(settings: IdempotencyStoreSettings): IdempotencyStoreHandle {
  const memory = new MemoryIdempotencyStore({ maxKeys: settings.maxKeys });
  if (settings.redisUrl === '' && settings.redis === undefined) {
    return { store: memory, ready: Promise.resolve(), close: () => Promise.resolve() };
  }
  const owned = settings.redis === undefined;
  const redis =
    settings.redis ??
    new Redis(settings.redisUrl, {
      // Fail at once while disconnected instead of queueing: the fallback serves from memory.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
  // Connection errors are reported by the fallback (once per outage), not on every reconnect.
  if (owned) redis.on('error', () => {});
  const store = new FallbackIdempotencyStore(
    new RedisIdempotencyStore(redis, settings.keyPrefix),
    memory,
    {
      logger: settings.logger,
      ...(settings.onFallback ? { onFallback: settings.onFallback } : {}),
    },
  );
  return {
    store,
    ready: connected(redis, settings.connectTimeoutMs ?? 2000),
    close: () => {
      if (owned) redis.disconnect();
      return Promise.resolve();
    },
  };
}

function connected(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
  });
}
