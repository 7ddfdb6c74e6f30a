import type { AppTarget, KeyPlacement } from './sessions.js';

export interface LoadgenOptions {
  /** Base URL of the collector: `http://127.0.0.1:12347`. */
  readonly url: string;
  /** The apps to send for; sessions go round-robin over them. */
  readonly apps: readonly AppTarget[];
  /** Path of the Faro endpoint under the URL. Default `/collect`. */
  readonly collectPath?: string;
  /** Default `path` (`/collect/<key>`, Pharos and Grafana Cloud); `header` for Alloy (`x-api-key`). */
  readonly keyPlacement?: KeyPlacement;
  /** Send each app's tenant in this header (a gateway that routes on `X-Scope-OrgID`). */
  readonly tenantHeader?: string | undefined;
  /** Simulated sessions under way at once. Default 100. */
  readonly sessions?: number;
  /**
   * Open loop: requests per second to start, whatever the answers take; latency counts from when
   * each request was due, so a stalled server shows as latency instead of a slower schedule.
   * Undefined: closed loop, `concurrency` requests in flight at all times.
   */
  readonly rate?: number | undefined;
  /** Connections (closed loop: requests in flight). Default 32. */
  readonly concurrency?: number;
  /** Measured time. Default 10 s; at most a day. */
  readonly durationMs?: number;
  /** Stop after this many measured requests, if that comes before the end of the duration. */
  readonly maxRequests?: number | undefined;
  /** Load sent before measuring (connections open, JIT warm, caches filled). Default 0. */
  readonly warmupMs?: number;
  /** Share of requests gzip-compressed, 0..1. Default 0. */
  readonly gzipShare?: number;
  /** Per-request timeout. Default 10 s. */
  readonly timeoutMs?: number;
  /** Allow a target that is not on this machine. Default false. */
  readonly allowRemote?: boolean;
  /** Directory of the captured SDK traffic. Default: the repository's fixtures. */
  readonly fixturesDir?: string | undefined;
  /** Seed of the ids' generator (same seed, same ids). Default: the time. */
  readonly seed?: number | undefined;
  /** How often progress is reported. Default 1 s. */
  readonly progressIntervalMs?: number;
}

export type ResolvedOptions = Required<
  Omit<LoadgenOptions, 'tenantHeader' | 'rate' | 'maxRequests' | 'fixturesDir' | 'seed'>
> &
  Pick<LoadgenOptions, 'tenantHeader' | 'rate' | 'maxRequests' | 'fixturesDir' | 'seed'>;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Fills in defaults and refuses what makes no sense, naming the option. */
export function resolveOptions(options: LoadgenOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    collectPath: '/collect',
    keyPlacement: 'path',
    sessions: 100,
    concurrency: 32,
    durationMs: 10_000,
    warmupMs: 0,
    gzipShare: 0,
    timeoutMs: 10_000,
    allowRemote: false,
    progressIntervalMs: 1000,
    ...definedOnly(options),
  } as ResolvedOptions;
  const problems: string[] = [];
  const integer = (name: string, value: number | undefined, min: number, max = Infinity) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max))
      problems.push(`${name} must be an integer from ${min}${max < Infinity ? ` to ${max}` : ''}`);
  };
  integer('sessions', resolved.sessions, 1, 1_000_000);
  integer('concurrency', resolved.concurrency, 1, 10_000);
  integer('maxRequests', resolved.maxRequests, 1);
  if (!(resolved.durationMs > 0 && resolved.durationMs <= DAY_MS))
    problems.push('duration must be more than 0 and at most 24h');
  if (!(resolved.warmupMs >= 0 && resolved.warmupMs <= DAY_MS))
    problems.push('warmup must be from 0 to 24h');
  if (!(resolved.timeoutMs > 0)) problems.push('timeout must be more than 0');
  if (resolved.rate !== undefined && !(resolved.rate > 0 && Number.isFinite(resolved.rate)))
    problems.push('rate must be a positive number of requests per second');
  if (!(resolved.gzipShare >= 0 && resolved.gzipShare <= 1))
    problems.push('gzip share must be from 0 to 1');
  if (!(resolved.progressIntervalMs > 0)) problems.push('progress interval must be more than 0');
  if (resolved.apps.length === 0) problems.push('at least one app key is needed');
  if (!resolved.collectPath.startsWith('/')) problems.push('the collect path must start with /');
  if (problems.length > 0) throw new Error(`invalid load options: ${problems.join('; ')}`);
  return resolved;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, entry]) => entry !== undefined),
  ) as Partial<T>;
}
