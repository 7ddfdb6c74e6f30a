import type { RegistryStore } from './types.js';

/** What following needs of the Registry (its store, and its version-checked reload). */
export interface Refreshable {
  readonly store: RegistryStore;
  /** Reloads the cache when the store's version changed since the last load. */
  refresh(): Promise<void>;
}

export interface FollowOptions {
  /** How often to poll the version when the store cannot push changes (SQLite): `registry.pollInterval`. */
  pollIntervalMs: number;
  /**
   * How often to poll anyway when it can (default ten poll intervals): a safety net for a
   * notification lost to a connection that died silently, which TCP keepalives notice late.
   */
  safetyPollIntervalMs?: number;
  /** A failed refresh or subscription; the cache keeps serving what it has. */
  onError: (error: unknown) => void;
}

export interface ChangeFollower {
  /** `notify`: the store pushes changes (PostgreSQL LISTEN/NOTIFY); `poll`: only polling finds them. */
  readonly mode: 'notify' | 'poll';
  stop(): Promise<void>;
}

/**
 * Keeps a registry's cache in step with changes made elsewhere (the CLI, other replicas): it
 * refreshes on every notification when the store can push them, polling slowly as a safety net,
 * and polls at `pollIntervalMs` otherwise, or when subscribing fails.
 *
 * Notifications come in bursts (one per committed transaction, and one after every reconnection);
 * refreshes are coalesced: never two at once, and one more after the current one when anything
 * arrived meanwhile, so the last change is always loaded.
 */
export async function followRegistryChanges(
  registry: Refreshable,
  options: FollowOptions,
): Promise<ChangeFollower> {
  let running = false;
  let pending = false;
  const refreshSoon = (): void => {
    pending = true;
    if (running) return;
    running = true;
    void (async () => {
      while (pending) {
        pending = false;
        try {
          await registry.refresh();
        } catch (error) {
          options.onError(error);
        }
      }
      running = false;
    })();
  };

  let unsubscribe: (() => Promise<void>) | undefined;
  if (registry.store.subscribe) {
    try {
      unsubscribe = await registry.store.subscribe(refreshSoon);
    } catch (error) {
      options.onError(error);
    }
  }
  const mode = unsubscribe ? 'notify' : 'poll';
  const intervalMs =
    mode === 'notify'
      ? (options.safetyPollIntervalMs ?? options.pollIntervalMs * 10)
      : options.pollIntervalMs;
  const poller = setInterval(refreshSoon, intervalMs);
  poller.unref();
  // A change may have landed between the cache's last load and the subscription.
  if (mode === 'notify') refreshSoon();

  return {
    mode,
    stop: async () => {
      clearInterval(poller);
      await unsubscribe?.();
    },
  };
}
