import type { TraceMap } from '@jridgewell/trace-mapping';
import { formatBytes } from '../../lib/units.js';
import { estimateHeapBytes, parseSourceMapJson, toTraceMap } from './source-map-text.js';

/** A map's JSON, and the URL it came from when it was downloaded (for relative `sources`). */
export interface RawSourceMap {
  text: Buffer;
  mapUrl?: string | undefined;
}

/** The map is bigger than the whole cache may hold: it is refused, never half-cached. */
export class MapTooLargeError extends Error {
  override readonly name = 'MapTooLargeError';
}

export interface MapCacheOptions {
  /** Bound on the cached maps' estimated heap (see `estimateHeapBytes`). */
  maxBytes: number;
  /**
   * Most maps read and parsed at once. Parsing transiently needs several times a map's size, so
   * this bounds the memory of a burst of cold lookups for distinct maps (1,000 new bundles at once).
   */
  maxConcurrentLoads?: number;
}

/** Hooks for metrics. */
export interface MapCacheEvents {
  hit?(): void;
  miss?(): void;
  evicted?(count: number): void;
  loaded?(seconds: number, bytes: number): void;
}

interface Entry {
  readonly map: TraceMap;
  readonly bytes: number;
}

/**
 * Parsed source maps (TraceMap), least recently used first out, bounded by bytes. Lookups of
 * cached maps are synchronous; there is no lock: a cold map is loaded once however many lookups
 * wait for it (per-key single flight), and other keys proceed meanwhile.
 */
export class SourceMapCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<TraceMap>>();
  private readonly waiting: (() => void)[] = [];
  private readonly maxConcurrentLoads: number;
  private activeLoads = 0;
  private totalBytes = 0;

  constructor(
    private readonly options: MapCacheOptions,
    private readonly events: MapCacheEvents = {},
  ) {
    this.maxConcurrentLoads = options.maxConcurrentLoads ?? 4;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Estimated heap of the maps held now; never above `maxBytes`. */
  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached map, marked as just used; undefined (a miss) when it must be loaded. */
  peek(key: string): TraceMap | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.events.miss?.();
      return undefined;
    }
    // Re-inserting moves it to the end of Map's insertion order: the most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.events.hit?.();
    return entry.map;
  }

  /**
   * Loads a map into the cache (or joins the load already running for `key`). A map is charged
   * its estimated heap, checked before its mappings are decoded: one that could never fit is
   * refused without building it. Rejects with MapTooLargeError, InvalidSourceMapError, or
   * whatever `read` rejects with.
   */
  load(key: string, read: () => Promise<RawSourceMap>): Promise<TraceMap> {
    const cached = this.entries.get(key);
    if (cached) return Promise.resolve(cached.map);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.withLoadSlot(() => this.readAndParse(key, read)).finally(() =>
        this.loading.delete(key),
      );
      this.loading.set(key, pending);
    }
    return pending;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  private async readAndParse(key: string, read: () => Promise<RawSourceMap>): Promise<TraceMap> {
    const started = performance.now();
    const raw = await read();
    const json = parseSourceMapJson(raw.text);
    const bytes = estimateHeapBytes(json, raw.text.length);
    if (bytes > this.options.maxBytes) {
      throw new MapTooLargeError(
        `the source map (${raw.text.length} bytes, ~${bytes} bytes parsed) is larger than the whole cache (${formatBytes(this.options.maxBytes)})`,
      );
    }
    const map = toTraceMap(json, raw.mapUrl);
    this.insert(key, { map, bytes });
    this.events.loaded?.((performance.now() - started) / 1000, raw.text.length);
    return map;
  }

  private insert(key: string, entry: Entry): void {
    this.delete(key);
    let evicted = 0;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.totalBytes + entry.bytes <= this.options.maxBytes) break;
      this.entries.delete(oldestKey);
      this.totalBytes -= oldest.bytes;
      evicted += 1;
    }
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
    if (evicted > 0) this.events.evicted?.(evicted);
  }

  private async withLoadSlot<T>(work: () => Promise<T>): Promise<T> {
    // A finishing load hands its slot straight to the next waiter, so the count never overshoots.
    if (this.activeLoads < this.maxConcurrentLoads) this.activeLoads += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.activeLoads -= 1;
    }
  }
}
