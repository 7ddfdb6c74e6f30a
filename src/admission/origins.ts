/**
 * Matches a browser `Origin` against an app's allowed origins (already normalised by the registry:
 * lower case, no default port). `*` allows all; `https://*.example.com` allows any subdomain (not
 * the bare domain); `http://localhost:*` allows any port.
 */
export type OriginMatcher = (origin: string) => boolean;

export function compileOrigins(allowed: readonly string[]): OriginMatcher {
  if (allowed.length === 0 || allowed.includes('*')) return () => true;
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
