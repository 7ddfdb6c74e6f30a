import type { Logger } from 'pino';
import type { FallbackReason, LimiterBackend, LimiterMetrics } from './metrics.js';
import type { RedisBuckets } from './redis-buckets.js';

export type LimiterLogger = Pick<Logger, 'info' | 'warn' | 'debug'>;

export interface RedisFailoverOptions {
  redis: RedisBuckets;
  replicas: number;
  /** How often Redis is tried again while the local buckets decide (ms). */
  probeIntervalMs: number;
  metrics: LimiterMetrics;
  logger: LimiterLogger;
}

/**
 * Decides where decisions are made: in Redis while it answers in time, else on this replica's
 * own buckets (each limit divided by the replica count), until a background probe finds Redis
 * answering again. It starts on the local buckets and moves to Redis once the connection is
 * ready and the script runs, so no request ever waits for Redis to connect.
 *
 * Every transition is logged once and counted; the `pharos_limiter_backend` gauge says where
 * decisions are made now.
 */
export class RedisFailover {
  private backend: LimiterBackend = 'local';
  private wasShared = false;
  private probing = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly readyWaiters = new Set<() => void>();

  constructor(private readonly options: RedisFailoverOptions) {
    const { redis, metrics, logger } = options;
    metrics.useBackend('local', true);
    redis.client.on('ready', () => void this.probe());
    redis.client.on('close', () => this.leave('connection', 'the connection to Redis closed'));
    // ioredis reports every failed reconnection attempt; the transitions are what matters.
    redis.client.on('error', (error: Error) =>
      logger.debug({ err: error }, 'Redis connection error (rate limits)'),
    );
    this.timer = setInterval(() => void this.probe(), options.probeIntervalMs);
    this.timer.unref();
  }

  /** True while decisions go to Redis. Read on every request: a field, no call into ioredis. */
  get usesRedis(): boolean {
    return this.backend === 'redis';
  }

  /** A Redis command failed: decide locally from now on, until a probe succeeds. */
  failed(error: unknown): void {
    this.leave(reasonOf(error), error instanceof Error ? error.message : String(error));
  }

  /** Resolves once decisions go to Redis, or after `timeoutMs` (start-up waits a little for it). */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.usesRedis) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        resolve(this.usesRedis);
      };
      // Not unref'd: whoever awaits this (start-up) must not see the process exit under it.
      const timer = setTimeout(done, timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  /** Stops probing; the connection closing after this is shutdown, not an outage. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const done of [...this.readyWaiters]) done();
  }

  private leave(reason: FallbackReason, detail: string): void {
    if (this.backend !== 'redis' || this.closed) return;
    this.backend = 'local';
    this.options.metrics.useBackend('local', true);
    this.options.metrics.fellBack(reason);
    this.options.logger.warn(
      { reason, detail, replicas: this.options.replicas },
      `Redis is unreachable or slow (${reason}): rate limits are counted on this replica alone, each limit divided by ${this.options.replicas} replicas, until Redis answers again`,
    );
  }

  private async probe(): Promise<void> {
    const { redis, metrics, logger } = this.options;
    if (this.usesRedis || this.probing || this.closed || redis.client.status !== 'ready') return;
    this.probing = true;
    try {
      // Loading first makes the first real decisions EVALSHA hits, not NOSCRIPT round trips.
      await redis.loadScript();
      await redis.probe();
      this.backend = 'redis';
      metrics.useBackend('redis', true);
      logger.info(
        this.wasShared
          ? 'Redis answers again: rate limits are shared by every replica again'
          : 'rate limits are shared by every replica through Redis',
      );
      this.wasShared = true;
      for (const done of [...this.readyWaiters]) done();
    } catch (error) {
      logger.debug({ err: error }, 'Redis probe failed; rate limits stay local');
    } finally {
      this.probing = false;
    }
  }
}

function reasonOf(error: unknown): FallbackReason {
  const message = error instanceof Error ? error.message : '';
  if (/timed out/i.test(message)) return 'timeout';
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (
    /^E(CONN|PIPE|HOSTUNREACH|NETUNREACH|AI_AGAIN|NOTFOUND)/.test(code) ||
    /writeable|connection is closed|connect/i.test(message)
  )
    return 'connection';
  return 'error';
}
