/**
 * A map whose entries expire, bounded by count (the oldest entry goes first). For small things
 * remembered for a while: failed downloads, where a frame's map was found. Expired entries are
 * dropped when read or when pushed out; no timer runs.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  /**
   * Walks the keys oldest first, kept from one eviction to the next. A fresh `keys()` would start
   * at the map's first slot and step over every entry deleted since V8 last rebuilt the table: with
   * the cache full and churning, tens of thousands of them, 10–25 µs a set (finding 24). A live
   * iterator moves on from where it stopped, and still meets re-set keys at their new place.
   */
  private readonly oldestFirst: IterableIterator<string> = this.entries.keys();

  constructor(
    private readonly maxEntries: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= this.clock()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, until: this.clock() + ttlMs });
    if (this.entries.size > this.maxEntries) {
      // Never done here: every key the cursor passed was deleted (and, if set again, appended
      // after it), so the entries left are all ahead of it.
      const oldest = this.oldestFirst.next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry whose key starts with `prefix`. */
  deletePrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
