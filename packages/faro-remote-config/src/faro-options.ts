import type { BrowserConfig } from '@grafana/faro-web-sdk';
import type { RemoteConfig } from './config.js';
import { consistentSessionSampling, generateSessionId } from './sampling.js';

type SessionTracking = NonNullable<BrowserConfig['sessionTracking']>;
type Patterns = NonNullable<BrowserConfig['ignoreUrls']>;

/** Your own settings that the remote ones are merged into. */
export interface FaroBaseOptions {
  sessionTracking?: SessionTracking;
  ignoreUrls?: Patterns;
}

export interface FaroRemoteOptions {
  /** Spread into `initializeFaro({ url, app, ...config })`. */
  config: { sessionTracking: SessionTracking; ignoreUrls: Patterns };
  /** `new TracingInstrumentation({ instrumentationOptions: tracingOptions })`. */
  tracingOptions: { propagateTraceHeaderCorsUrls: RegExp[] };
}

/**
 * Maps a remote config onto Faro options:
 *
 * - `samplingRate` → `sessionTracking` with a sampler that decides like the gateway (see
 *   `consistentSessionSampling`); your other session settings are kept, and your own
 *   `generateSessionId`, if any, still makes the ids;
 * - `ignoreUrls` → RegExps appended to yours;
 * - `tracePropagationUrls` → TracingInstrumentation's `propagateTraceHeaderCorsUrls`.
 *
 * A pattern that does not compile in this browser is skipped rather than breaking the page
 * (the gateway checks them with JavaScript's own RegExp when they are saved).
 */
export function faroOptionsFrom(
  remote: RemoteConfig,
  base: FaroBaseOptions = {},
): FaroRemoteOptions {
  const sampling = consistentSessionSampling(
    remote.samplingRate,
    base.sessionTracking?.generateSessionId ?? generateSessionId,
  );
  return {
    config: {
      sessionTracking: { ...base.sessionTracking, ...sampling },
      ignoreUrls: [...(base.ignoreUrls ?? []), ...compilePatterns(remote.ignoreUrls)],
    },
    tracingOptions: { propagateTraceHeaderCorsUrls: compilePatterns(remote.tracePropagationUrls) },
  };
}

/** True when the app accepts this environment (an empty list accepts any). */
export function allowsEnvironment(remote: RemoteConfig, environment: string | undefined): boolean {
  return (
    remote.environments.length === 0 ||
    (environment !== undefined && remote.environments.includes(environment))
  );
}

function compilePatterns(sources: readonly string[]): RegExp[] {
  const patterns: RegExp[] = [];
  for (const source of sources) {
    try {
      patterns.push(new RegExp(source));
    } catch {
      // Skipped: see above.
    }
  }
  return patterns;
}
