import { DEFAULT_REMOTE_CONFIG, parseRemoteConfig, type RemoteConfig } from './config.js';

/** The part of `Storage` the loader uses (localStorage, sessionStorage, or your own). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface LoadRemoteConfigOptions {
  /** `https://<pharos>/config/<appKey>` */
  configUrl: string;
  /** Longest wait for the network when nothing is cached (default 1000 ms). */
  timeoutMs?: number;
  /** Where the last config is kept; default `localStorage`, `null` for none. */
  storage?: StorageLike | null;
  /** Storage key; default `pharos.faro-remote-config:<configUrl>`. */
  cacheKey?: string;
  /** Called when a config from the network was stored (after this call resolved, usually). */
  onUpdate?: (config: RemoteConfig) => void;
  /** For tests and unusual environments; default the global `fetch`. */
  fetch?: typeof fetch;
}

/** Where the config that `loadRemoteConfig` resolved with came from. */
export type RemoteConfigSource = 'cache' | 'network' | 'defaults';

export interface LoadedRemoteConfig extends RemoteConfig {
  source: RemoteConfigSource;
}

interface CacheEntry {
  savedAt: number;
  config: RemoteConfig;
}

/** A background refresh gives up after this long (or `timeoutMs`, when that is longer). */
const BACKGROUND_TIMEOUT_MS = 10_000;

/**
 * The app's client settings, without ever holding up the page for long:
 *
 * - a config cached by an earlier page load is returned at once, and a fresh one is fetched in
 *   the background for the next load (stale-while-revalidate). Faro should start as early as
 *   possible (errors thrown before `initializeFaro` are lost), sessions are sampled once when
 *   they start, and the gateway enforces the current `samplingRate` with the same hash, so a
 *   config one page load old costs nothing that waiting for the network would save;
 * - with nothing cached, the network answer is awaited for at most `timeoutMs`;
 * - with nothing cached and no answer in time, `DEFAULT_REMOTE_CONFIG` (see there why it keeps
 *   every session). A late answer is still cached, for the next page load.
 *
 * Never rejects: storage that throws (private modes, sandboxed frames), network errors, bad
 * JSON and non-2xx answers all fall through to the cache or the defaults.
 */
export async function loadRemoteConfig(
  options: LoadRemoteConfigOptions,
): Promise<LoadedRemoteConfig> {
  const { configUrl, timeoutMs = 1000 } = options;
  const storage = options.storage === undefined ? defaultStorage() : options.storage;
  const cacheKey = options.cacheKey ?? `pharos.faro-remote-config:${configUrl}`;

  const cached = readCache(storage, cacheKey);
  const fresh = fetchConfig(
    options.fetch ?? globalThis.fetch.bind(globalThis),
    configUrl,
    Math.max(timeoutMs, BACKGROUND_TIMEOUT_MS),
  ).then((config) => {
    if (config !== undefined) {
      writeCache(storage, cacheKey, config);
      options.onUpdate?.(config);
    }
    return config;
  });

  if (cached !== undefined) return { ...cached, source: 'cache' };
  const config = await withDeadline(fresh, timeoutMs);
  return config === undefined
    ? { ...DEFAULT_REMOTE_CONFIG, source: 'defaults' }
    : { ...config, source: 'network' };
}

function defaultStorage(): StorageLike | null {
  try {
    // Reading `localStorage` itself throws where storage is blocked.
    return (globalThis as { localStorage?: StorageLike }).localStorage ?? null;
  } catch {
    return null;
  }
}

function readCache(storage: StorageLike | null, key: string): RemoteConfig | undefined {
  try {
    const text = storage?.getItem(key);
    if (!text) return undefined;
    return parseRemoteConfig((JSON.parse(text) as Partial<CacheEntry> | null)?.config);
  } catch {
    return undefined;
  }
}

function writeCache(storage: StorageLike | null, key: string, config: RemoteConfig): void {
  try {
    const entry: CacheEntry = { savedAt: Date.now(), config };
    storage?.setItem(key, JSON.stringify(entry));
  } catch {
    // Full or blocked storage: the next page load fetches again.
  }
}

/** The config at `url`, or undefined on any failure (never rejects). */
async function fetchConfig(
  fetchImpl: typeof fetch,
  url: string,
  timeoutMs: number,
): Promise<RemoteConfig | undefined> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    // No credentials: the endpoint is public and cookies would only make caching harder. The
    // browser's HTTP cache (max-age, stale-while-revalidate, ETag) does the conditional requests;
    // setting If-None-Match by hand would turn this simple GET into a preflighted one.
    const response = await fetchImpl(url, { credentials: 'omit', signal: controller.signal });
    if (!response.ok) return undefined;
    return parseRemoteConfig(await response.json());
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** `promise`'s value, or undefined when it takes longer than `ms`. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
