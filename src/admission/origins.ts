/**
 * Matches a browser `Origin` against an app's allowed origins (already normalised by the registry:
 * lower case, no default port). `*` allows all; `https://*.example.com` allows any subdomain (not
 * the bare domain); `http://localhost:*` allows any port.
 */
export type OriginMatcher = (origin: string) => boolean;

const ANY_ORIGIN: OriginMatcher = () => true;

/**
 * Matchers by list object. The registry gives the apps of one snapshot with equal origins one
 * (frozen) list, so 10,000 apps allowed the same origins hold one matcher, not 10,000 closures
 * and sets. Weak: a reload makes new lists, and the matchers of the old ones go with them.
 */
const matchers = new WeakMap<readonly string[], OriginMatcher>();

/** The matcher of `allowed`, compiled once per list (see `matchers`). */
export function originMatcherOf(allowed: readonly string[]): OriginMatcher {
  if (allowed.length === 0 || allowed.includes('*')) return ANY_ORIGIN;
  let matcher = matchers.get(allowed);
  if (matcher === undefined) {
    matcher = compileOrigins(allowed);
    matchers.set(allowed, matcher);
  }
  return matcher;
}

export function compileOrigins(allowed: readonly string[]): OriginMatcher {
  if (allowed.length === 0 || allowed.includes('*')) return ANY_ORIGIN;
  const exact = new Set(allowed.filter((entry) => !entry.includes('*')));
  const patterns = allowed.filter((entry) => entry.includes('*')).map(toRegExp);
  return (origin) => {
    const candidate = origin.toLowerCase();
    return exact.has(candidate) || patterns.some((pattern) => pattern.test(candidate));
  };
}

function toRegExp(entry: string): RegExp {
  const escaped = entry.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const source = escaped
    .replace('://*\\.', '://(?:[a-z0-9-]+\\.)+') // *.example.com: one or more labels
    .replace(/:\*$/, '(?::\\d{1,5})?'); // :* — any port, or none
  return new RegExp(`^${source}$`);
}
