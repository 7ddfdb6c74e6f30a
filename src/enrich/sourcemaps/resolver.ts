import { createHash } from 'node:crypto';
import type { TraceMap } from '@jridgewell/trace-mapping';
import type { Logger } from 'pino';
import { compileOrigins, type OriginMatcher } from '../../admission/index.js';
import { DownloadError, type Downloaded, type SafeDownloader } from './downloader.js';
import { httpUrlOf, minifiedBasename } from './frame-url.js';
import {
  PathRefusedError,
  findLocationFile,
  locationCandidates,
  type SourceMapLocation,
} from './locations.js';
import { MapTooLargeError, type RawSourceMap, type SourceMapCache } from './map-cache.js';
import { decodeDataUrl, sourceMappingUrlOf } from './origin-discovery.js';
import { InvalidSourceMapError } from './source-map-text.js';
import type { SourceMapStore } from './store.js';
import { TtlCache } from './ttl-cache.js';

/** What happened to one frame: the label of `pharos_sourcemap_frames_total`. A closed set. */
export const FRAME_RESULTS = [
  'resolved',
  'no_map',
  'no_mapping',
  'download_refused',
  'download_failed',
  'invalid_map',
  'map_too_large',
  'path_refused',
  'timeout',
  'error',
] as const;
export type FrameResult = (typeof FRAME_RESULTS)[number];
/** Why a lookup found no map (`timeout` is the enricher's: it stopped waiting). */
export type LookupFailure = Exclude<FrameResult, 'resolved' | 'no_mapping'>;

export type MapLookup = { map: TraceMap } | { failure: LookupFailure };

/** Whose frame this is, from admission (tenant, app) and the payload's meta (bundle, release). */
export interface FrameContext {
  tenantId: string;
  appId: string;
  bundleId?: string | undefined;
  release?: string | undefined;
}

export interface ResolverOptions {
  store: SourceMapStore;
  cache: SourceMapCache;
  /** Used for http(s) locations and origin downloads. */
  downloader: SafeDownloader;
  locations?: readonly SourceMapLocation[];
  /**
   * Origins whose scripts (and maps) may be downloaded for an app's frames
   * (`https://cdn.example.com`, `https://*.example.com`, `*`). Empty (the default): none.
   */
  downloadOrigins?: (context: FrameContext) => readonly string[];
  maxMapBytes: number;
  maxScriptBytes: number;
  /** How long where a frame's map is (or that there is none) is trusted before looking again. */
  recheckMs: number;
  /** The same for maps found by downloading, which cost two requests to look up again. */
  downloadRecheckMs: number;
  /** Most remembered lookups (each is a few hundred bytes). */
  maxRememberedLookups?: number;
  clock?: () => number;
  logger?: Logger;
}

/** Where a map is, and how to read it again if the cache lets it go. */
interface Located {
  /** The cache key: the map's identity (content hash, file version, URL). */
  key: string;
  read: () => Promise<RawSourceMap>;
}

type IndexEntry = { located: Located } | { failure: LookupFailure };

interface Found {
  located: Located;
  /** Already read while looking (a download): used for the first load instead of reading twice. */
  prefetched?: RawSourceMap;
  ttlMs: number;
}

/**
 * Finds the source map for a frame's file, in order: (a) the map uploaded for the app, the
 * payload's bundle id and the file's basename; (b) the configured locations; (c) for origins on
 * the app's allow-list only, the script's own `sourceMappingURL`, downloaded through the SSRF
 * guard. Where the map was found is remembered for `recheckMs`, and the parsed map lives in the
 * byte-bounded cache, so a warm lookup is synchronous and touches neither the store nor the network.
 */
export class SourceMapResolver {
  private readonly index: TtlCache<IndexEntry>;
  private readonly locating = new Map<string, Promise<MapLookup>>();
  private readonly matchers = new Map<string, OriginMatcher>();
  /** Bumped by forgetBundle: a lookup that started before must not remember what it found. */
  private generation = 0;

  constructor(private readonly options: ResolverOptions) {
    this.index = new TtlCache(options.maxRememberedLookups ?? 20_000, options.clock);
  }

  /** A map or why there is none; synchronous when everything needed is in memory. */
  lookup(context: FrameContext, filename: string): MapLookup | Promise<MapLookup> {
    const key = indexKey(context, filename);
    const known = this.index.get(key);
    if (known) {
      if ('failure' in known) return known;
      const map = this.options.cache.peek(known.located.key);
      return map ? { map } : this.load(key, known.located);
    }
    let pending = this.locating.get(key);
    if (!pending) {
      pending = this.locateAndLoad(context, filename, key).finally(() => this.locating.delete(key));
      this.locating.set(key, pending);
    }
    return pending;
  }

  /** After an upload or a delete: this replica looks the bundle's frames up again at once. */
  forgetBundle(appId: string, bundleId: string): void {
    this.generation += 1;
    this.index.deletePrefix(`${appId}\n${bundleId}\n`);
  }

  private async locateAndLoad(
    context: FrameContext,
    filename: string,
    key: string,
  ): Promise<MapLookup> {
    const generation = this.generation;
    let found: Found | { failure: LookupFailure; ttlMs: number };
    try {
      found = await this.locate(context, filename);
    } catch (error) {
      found = { failure: this.failureOf(error, filename), ttlMs: this.options.recheckMs };
    }
    // An upload landed meanwhile (its store read may have missed it): answer, but do not remember.
    const remember = generation === this.generation;
    if ('failure' in found) {
      if (remember) this.index.set(key, { failure: found.failure }, found.ttlMs);
      return { failure: found.failure };
    }
    if (remember) this.index.set(key, { located: found.located }, found.ttlMs);
    const map = this.options.cache.peek(found.located.key);
    return map ? { map } : this.load(key, found.located, found.prefetched);
  }

  private async load(key: string, located: Located, prefetched?: RawSourceMap): Promise<MapLookup> {
    const read = prefetched ? () => Promise.resolve(prefetched) : located.read;
    try {
      return { map: await this.options.cache.load(located.key, read) };
    } catch (error) {
      const failure = this.failureOf(error, located.key);
      this.index.set(key, { failure }, this.options.recheckMs);
      return { failure };
    }
  }

  private async locate(
    context: FrameContext,
    filename: string,
  ): Promise<Found | { failure: LookupFailure; ttlMs: number }> {
    const uploaded = await this.findUploaded(context, filename);
    if (uploaded) return uploaded;

    let failure: DownloadError | undefined;
    for (const candidate of locationCandidates(this.options.locations ?? [], context, filename)) {
      if (candidate.kind === 'file') {
        const file = await findLocationFile(candidate, this.options.maxMapBytes);
        if (file) {
          const located = { key: file.key, read: async () => ({ text: await file.read() }) };
          return { located, ttlMs: this.options.recheckMs };
        }
        continue;
      }
      try {
        return await this.findAtUrl(candidate.url);
      } catch (error) {
        // Unlike Alloy, a location without the map (404) or failing does not end the search.
        if (!(error instanceof DownloadError)) throw error;
        if (error.status !== 404) failure ??= error;
      }
    }

    const scriptUrl = httpUrlOf(filename);
    const origins = scriptUrl && this.options.downloadOrigins?.(context);
    if (scriptUrl && origins && origins.length > 0 && this.matcher(origins)(scriptUrl.origin))
      return this.findFromScript(scriptUrl, origins);
    if (failure) throw failure;
    return { failure: 'no_map', ttlMs: this.options.recheckMs };
  }

  private async findUploaded(context: FrameContext, filename: string): Promise<Found | undefined> {
    const file = minifiedBasename(filename);
    if (context.bundleId === undefined || context.bundleId === '' || file === '') return undefined;
    const key = { appId: context.appId, bundleId: context.bundleId, file };
    const info = await this.options.store.info(key);
    if (!info) return undefined;
    const { store } = this.options;
    const located: Located = {
      // By content: the same map uploaded for two bundles (or apps) is parsed and held once.
      key: `sha256:${info.sha256}`,
      read: async () => {
        const text = await store.read(key);
        if (!text) throw new InvalidSourceMapError(`the map of ${file} was deleted meanwhile`);
        return { text };
      },
    };
    return { located, ttlMs: this.options.recheckMs };
  }

  /** A configured http(s) location: operator-chosen host, so no allow-list; the guard still applies. */
  private async findAtUrl(url: string): Promise<Found> {
    const read = async (): Promise<RawSourceMap> => {
      const downloaded = await this.options.downloader.get({
        url,
        maxBytes: this.options.maxMapBytes,
        isAllowedUrl: () => true,
        scope: 'location',
      });
      return { text: downloaded.body, mapUrl: downloaded.url };
    };
    const prefetched = await read();
    return {
      located: { key: `url:${url}`, read },
      prefetched,
      ttlMs: this.options.downloadRecheckMs,
    };
  }

  /**
   * (c): the script, then the map its `SourceMap` header or last-line comment names. The map URL
   * must pass the same allow-list as the script (and every redirect of either).
   */
  private async findFromScript(
    scriptUrl: URL,
    origins: readonly string[],
  ): Promise<Found | { failure: LookupFailure; ttlMs: number }> {
    const allowed = this.matcher(origins);
    const request = {
      maxBytes: this.options.maxScriptBytes,
      isAllowedUrl: (url: URL) => allowed(url.origin),
      scope: origins.join(' '),
    };
    const { downloader, maxMapBytes, downloadRecheckMs } = this.options;
    const fetchScript = () => downloader.get({ ...request, url: scriptUrl.href });

    let script: Downloaded;
    try {
      script = await fetchScript();
    } catch (error) {
      // An oversized script is a failed download, not an oversized map.
      if (error instanceof DownloadError && error.kind === 'too_large')
        throw new DownloadError('failed', `script ${scriptUrl.href}: ${error.message}`);
      throw error;
    }
    const reference = sourceMappingUrlOf(script.body, script.headers);
    if (reference === undefined) return { failure: 'no_map', ttlMs: downloadRecheckMs };

    if (reference.startsWith('data:')) {
      const text = decodeDataUrl(reference, maxMapBytes);
      const read = async (): Promise<RawSourceMap> => {
        const again = await fetchScript();
        const inline = sourceMappingUrlOf(again.body, again.headers);
        if (!inline?.startsWith('data:'))
          throw new InvalidSourceMapError(`${scriptUrl.href} no longer has an inline map`);
        return { text: decodeDataUrl(inline, maxMapBytes), mapUrl: again.url };
      };
      return {
        located: { key: `inline:${sha256(text)}:${script.url}`, read },
        prefetched: { text, mapUrl: script.url },
        ttlMs: downloadRecheckMs,
      };
    }

    let mapUrl: URL;
    try {
      mapUrl = new URL(reference, script.url);
    } catch {
      return { failure: 'no_map', ttlMs: downloadRecheckMs };
    }
    const read = async (): Promise<RawSourceMap> => {
      const map = await downloader.get({ ...request, url: mapUrl.href, maxBytes: maxMapBytes });
      return { text: map.body, mapUrl: map.url };
    };
    // The script's hash is part of the key: a redeployed `app.js` under the same URL gets its new map.
    return {
      located: { key: `url:${mapUrl.href}:${sha256(script.body).slice(0, 16)}`, read },
      ttlMs: downloadRecheckMs,
    };
  }

  private matcher(origins: readonly string[]): OriginMatcher {
    const id = origins.join(' ');
    let matcher = this.matchers.get(id);
    if (!matcher) {
      if (this.matchers.size >= 1000) this.matchers.clear();
      matcher = compileOrigins(origins);
      this.matchers.set(id, matcher);
    }
    return matcher;
  }

  private failureOf(error: unknown, what: string): LookupFailure {
    if (error instanceof DownloadError) {
      if (error.kind === 'refused') return 'download_refused';
      return error.kind === 'too_large' ? 'map_too_large' : 'download_failed';
    }
    if (error instanceof MapTooLargeError) return 'map_too_large';
    if (error instanceof InvalidSourceMapError) return 'invalid_map';
    if (error instanceof PathRefusedError) return 'path_refused';
    this.options.logger?.error({ err: error, source: what }, 'source map lookup failed');
    return 'error';
  }
}

/** App and bundle first, so that `forgetBundle` can drop a bundle's lookups by prefix. */
function indexKey(context: FrameContext, filename: string): string {
  return `${context.appId}\n${context.bundleId ?? ''}\n${context.tenantId}\n${context.release ?? ''}\n${filename}`;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
