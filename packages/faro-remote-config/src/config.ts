/** What `GET /config/:appKey` answers: the app's client settings. */
export interface RemoteConfig {
  /** Share of sessions kept, 0..1, decided per session (the gateway decides alike). */
  samplingRate: number;
  /** Regular expressions (sources) of cross-origin URLs that get a `traceparent` header. */
  tracePropagationUrls: string[];
  /** Regular expressions (sources) of URLs Faro must not instrument. */
  ignoreUrls: string[];
  /** Environments the app reports; empty: any. */
  environments: string[];
  /** Changes whenever the app's settings change; `null` in the defaults. */
  version: number | null;
}

/**
 * Used when there is neither a cached config nor an answer in time.
 *
 * Sample everything: the gateway samples every session again with the same hash, so sending
 * all of them never stores more than the app's rate; it only costs the bytes of sessions the
 * gateway drops, and only for pages that found no config. Sampling nothing instead would lose
 * every session that starts while the config endpoint is unreachable, for the whole session
 * (Faro stores its decision with the session, up to 4 hours), with no way to recover them.
 * No trace propagation: adding `traceparent` to an origin that does not allow it in CORS makes
 * the browser refuse the request, which would break the page; no extra ignored URLs.
 */
export const DEFAULT_REMOTE_CONFIG: Readonly<RemoteConfig> = Object.freeze({
  samplingRate: 1,
  tracePropagationUrls: [],
  ignoreUrls: [],
  environments: [],
  version: null,
});

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string');
}

/** The config in `value`, or undefined when it is not a well-formed one. */
export function parseRemoteConfig(value: unknown): RemoteConfig | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { samplingRate, tracePropagationUrls, ignoreUrls, environments, version } = value as Record<
    string,
    unknown
  >;
  if (typeof samplingRate !== 'number' || !(samplingRate >= 0 && samplingRate <= 1))
    return undefined;
  if (!isStringArray(tracePropagationUrls) || !isStringArray(ignoreUrls)) return undefined;
  if (!isStringArray(environments)) return undefined;
  if (version !== null && typeof version !== 'number') return undefined;
  return { samplingRate, tracePropagationUrls, ignoreUrls, environments, version };
}
