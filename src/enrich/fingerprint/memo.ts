/**
 * Remembers the results of a pure function of a string. Script paths and messages repeat from
 * one exception to the next (a bundle has a few files; an error recurs), and normalising them is
 * a chain of regexes: a hit costs one map lookup. Bounded: cleared whole when full, as the store
 * does with its meta ids, which is cheaper than an LRU and just as good for a hot working set.
 */
export function memoize(fn: (key: string) => string, maxEntries = 5000): (key: string) => string {
  const cache = new Map<string, string>();
  return (key) => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const value = fn(key);
    if (cache.size >= maxEntries) cache.clear();
    cache.set(key, value);
    return value;
  };
}
