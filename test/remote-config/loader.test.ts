import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REMOTE_CONFIG,
  loadRemoteConfig,
  type RemoteConfig,
  type StorageLike,
} from '../../packages/faro-remote-config/src/index.js';

const URL_ = 'https://pharos.example/config/pk_test_0123456789';

const REMOTE: RemoteConfig = {
  samplingRate: 0.3,
  tracePropagationUrls: ['^https://api\\.example/'],
  ignoreUrls: ['/health$'],
  environments: ['production'],
  version: 1_767_225_600_000,
};

function memoryStorage(initial: Record<string, string> = {}): StorageLike & {
  items: Map<string, string>;
} {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
  };
}

/** A fetch that answers `body` (status 200) after `delayMs`, and counts its calls. */
function fakeFetch(
  answer: { body?: unknown; status?: number; delayMs?: number; fail?: boolean } = {},
) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const impl = (async (url: string, init?: RequestInit) => {
    calls.push({ url, init });
    await new Promise((resolve) => setTimeout(resolve, answer.delayMs ?? 0));
    if (answer.fail) throw new TypeError('Failed to fetch');
    return new Response(JSON.stringify(answer.body ?? REMOTE), { status: answer.status ?? 200 });
  }) as unknown as typeof fetch;
  return { impl, calls };
}

const cacheKey = `pharos.faro-remote-config:${URL_}`;
const cached = (config: RemoteConfig) =>
  JSON.stringify({ savedAt: Date.now() - 86_400_000, config });

describe('loadRemoteConfig', () => {
  it('fetches without credentials and caches the answer when nothing is cached', async () => {
    const storage = memoryStorage();
    const fetch = fakeFetch();
    const config = await loadRemoteConfig({ configUrl: URL_, storage, fetch: fetch.impl });
    expect(config).toEqual({ ...REMOTE, source: 'network' });
    expect(fetch.calls[0]?.url).toBe(URL_);
    expect(fetch.calls[0]?.init?.credentials).toBe('omit');
    expect(JSON.parse(storage.items.get(cacheKey)!)).toMatchObject({ config: REMOTE });
  });

  it('returns the cached config at once and refreshes the cache in the background', async () => {
    const old = { ...REMOTE, samplingRate: 0.9, version: 1 };
    const storage = memoryStorage({ [cacheKey]: cached(old) });
    const fetch = fakeFetch({ delayMs: 600 });
    let updated: RemoteConfig | undefined;
    const started = performance.now();
    const config = await loadRemoteConfig({
      configUrl: URL_,
      storage,
      fetch: fetch.impl,
      onUpdate: (fresh) => (updated = fresh),
    });
    expect(performance.now() - started).toBeLessThan(300); // not the network's 600 ms
    expect(config).toEqual({ ...old, source: 'cache' });
    expect(fetch.calls).toHaveLength(1); // the refresh is under way
    expect(updated).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(updated).toEqual(REMOTE);
    expect(JSON.parse(storage.items.get(cacheKey)!)).toMatchObject({ config: REMOTE });
  });

  it('waits at most timeoutMs for a slow network, then uses the defaults and caches the late answer', async () => {
    const storage = memoryStorage();
    const fetch = fakeFetch({ delayMs: 800 });
    const started = performance.now();
    const config = await loadRemoteConfig({
      configUrl: URL_,
      timeoutMs: 100,
      storage,
      fetch: fetch.impl,
    });
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(waited).toBeLessThan(500); // the timeout, not the network's 800 ms
    expect(config).toEqual({ ...DEFAULT_REMOTE_CONFIG, source: 'defaults' });
    expect(storage.items.has(cacheKey)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(JSON.parse(storage.items.get(cacheKey)!)).toMatchObject({ config: REMOTE });
  });

  it('uses the defaults at once when the fetch fails and nothing is cached', async () => {
    const started = performance.now();
    const config = await loadRemoteConfig({
      configUrl: URL_,
      timeoutMs: 5000,
      storage: memoryStorage(),
      fetch: fakeFetch({ fail: true }).impl,
    });
    expect(performance.now() - started).toBeLessThan(1000); // not the 5 s timeout
    expect(config.source).toBe('defaults');
    expect(config.samplingRate).toBe(1);
  });

  it('keeps a cached config when the endpoint answers an error or a malformed body', async () => {
    for (const answer of [
      { status: 401, body: { code: 'PHAROS_ERR_APP_KEY_INVALID' } },
      { status: 200, body: { samplingRate: 'all' } },
      { status: 200, body: { ...REMOTE, samplingRate: 1.5 } },
    ]) {
      const storage = memoryStorage({ [cacheKey]: cached(REMOTE) });
      const config = await loadRemoteConfig({
        configUrl: URL_,
        storage,
        fetch: fakeFetch(answer).impl,
      });
      expect(config.source).toBe('cache');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(JSON.parse(storage.items.get(cacheKey)!)).toMatchObject({ config: REMOTE });
    }
  });

  it('ignores a corrupt cache entry and survives storage that throws', async () => {
    const corrupt = memoryStorage({ [cacheKey]: '{not json' });
    expect(
      (await loadRemoteConfig({ configUrl: URL_, storage: corrupt, fetch: fakeFetch().impl }))
        .source,
    ).toBe('network');
    const throwing: StorageLike = {
      getItem: () => {
        throw new DOMException('blocked', 'SecurityError');
      },
      setItem: () => {
        throw new DOMException('full', 'QuotaExceededError');
      },
    };
    expect(
      (await loadRemoteConfig({ configUrl: URL_, storage: throwing, fetch: fakeFetch().impl }))
        .source,
    ).toBe('network');
    // No storage at all (Node has no localStorage): still works.
    expect((await loadRemoteConfig({ configUrl: URL_, fetch: fakeFetch().impl })).source).toBe(
      'network',
    );
  });

  it('uses a custom cache key', async () => {
    const storage = memoryStorage();
    await loadRemoteConfig({ configUrl: URL_, storage, cacheKey: 'mine', fetch: fakeFetch().impl });
    expect(storage.items.has('mine')).toBe(true);
  });
});
