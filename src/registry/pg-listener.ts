import pg from 'pg';
import type { PgLogger } from './pg-database.js';

export interface ReconnectOptions {
  /** Wait before the first reconnection attempt; doubled after each failure. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const RECONNECT_DEFAULTS: ReconnectOptions = { initialDelayMs: 100, maxDelayMs: 5_000 };

export interface ChannelListenerOptions {
  url: string;
  channel: string;
  /** `application_name` of the listening connection (operators, and tests, find it by this). */
  applicationName: string;
  reconnect?: ReconnectOptions;
  logger?: PgLogger | undefined;
}

/**
 * One connection that LISTENs on a channel and calls every subscriber on each notification.
 *
 * It is a plain `Client`, not a pooled one: a pool would recycle an idle connection, and with it
 * the LISTEN. When the connection is lost (server restart, `pg_terminate_backend`, network), it
 * reconnects with exponential backoff and then calls every subscriber once, because
 * notifications sent while it was away are lost: the subscribers must look for themselves.
 */
export class ChannelListener {
  private readonly options: ChannelListenerOptions;
  private readonly reconnect: ReconnectOptions;
  private readonly subscribers = new Set<() => void>();
  /** The connection being opened or in use (what `close` ends). */
  private client: pg.Client | undefined;
  /** The connection whose LISTEN succeeded; only its loss starts a reconnection. */
  private listening: pg.Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(options: ChannelListenerOptions) {
    this.options = options;
    this.reconnect = options.reconnect ?? RECONNECT_DEFAULTS;
  }

  /** Connects and LISTENs; rejects when the first connection fails (nothing is retried then). */
  async start(): Promise<void> {
    await this.open();
  }

  add(subscriber: () => void): void {
    this.subscribers.add(subscriber);
  }

  /** Removes a subscriber; true when none is left. */
  remove(subscriber: () => void): boolean {
    this.subscribers.delete(subscriber);
    return this.subscribers.size === 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.listening = undefined;
    await client?.end().catch(() => undefined);
  }

  private async open(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: this.options.applicationName,
      // TCP keepalives notice a peer that vanished without closing the connection; until then
      // the registry's safety-net poll covers the gap.
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === this.options.channel) this.notifySubscribers();
    });
    // Listeners before connect: an unhandled 'error' event would crash the process.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, undefined));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.options.channel)}`);
    } catch (error) {
      // A failed attempt is reported by this rejection, not by its 'error'/'end' events.
      if (this.client === client) this.client = undefined;
      await client.end().catch(() => undefined);
      throw error;
    }
    this.listening = client;
  }

  /** The connection `client` ended or failed; start reconnecting unless it was already replaced. */
  private lost(client: pg.Client, error: Error | undefined): void {
    if (client !== this.listening) return;
    this.listening = undefined;
    if (this.client === client) this.client = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.options.logger?.warn(
      { err: error, channel: this.options.channel },
      'lost the PostgreSQL connection listening for registry changes; reconnecting',
    );
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = Math.min(
      this.reconnect.maxDelayMs,
      this.reconnect.initialDelayMs * 2 ** this.failures,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.tryReconnect();
    }, delay);
    this.retryTimer.unref();
  }

  private async tryReconnect(): Promise<void> {
    try {
      await this.open();
    } catch (error) {
      if (this.closed) return;
      this.failures++;
      this.options.logger?.warn(
        { err: error, channel: this.options.channel, failures: this.failures },
        'cannot reconnect to PostgreSQL to listen for registry changes; retrying',
      );
      this.scheduleReconnect();
      return;
    }
    if (this.closed) {
      await this.close();
      return;
    }
    this.failures = 0;
    this.options.logger?.info(
      { channel: this.options.channel },
      'listening for registry changes again',
    );
    // Changes made while the connection was down sent notifications nobody received.
    this.notifySubscribers();
  }

  private notifySubscribers(): void {
    for (const subscriber of this.subscribers) {
      try {
        subscriber();
      } catch (error) {
        this.options.logger?.warn({ err: error }, 'a registry change subscriber failed');
      }
    }
  }
}
