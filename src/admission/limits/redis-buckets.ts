import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { CHARGED, type ChargeOutcome, type ChargeSet } from './types.js';

/**
 * GCRA over any number of buckets, all or nothing, in one atomic step (see gcra.ts for the
 * arithmetic, which this mirrors). One script serves both stages: stage 1 passes the `requests`
 * buckets, stage 2 the items, bytes and per-kind buckets.
 *
 * KEYS[i]       a bucket (its TAT, ms, as a decimal string)
 * ARGV[1]       now (ms), or '' for the Redis server's clock (one clock for every replica)
 * ARGV[2i]      increment of KEYS[i]: cost × emission interval (ms)
 * ARGV[2i+1]    tolerance of KEYS[i]: max(burst, cost) × emission interval (ms)
 *
 * Returns {0, 0} when every bucket was charged, or {i, wait} (wait in ms, rounded up) for the
 * bucket that needs the longest wait, having written nothing. Each written key expires at its
 * TAT, when the bucket is full again and the key is no longer needed.
 */
export const GCRA_SCRIPT = `
-- Redis < 5 replicates scripts verbatim, which forbids writes after TIME; later versions ignore this.
if redis.replicate_commands then redis.replicate_commands() end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local n = #KEYS
if n == 0 then return {0, 0} end
local stored = redis.call('MGET', unpack(KEYS))
local tats = {}
local worst, worstWait = 0, ${1e-6}
for i = 1, n do
  local tat = tonumber(stored[i])
  if not tat or tat < now then tat = now end
  tat = tat + tonumber(ARGV[2 * i])
  local wait = tat - now - tonumber(ARGV[2 * i + 1])
  if wait > worstWait then worst, worstWait = i, wait end
  tats[i] = tat
end
if worst > 0 then return {worst, math.ceil(worstWait)} end
for i = 1, n do
  redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', math.max(1, math.ceil(tats[i] - now)))
end
return {0, 0}
`;

export const GCRA_SCRIPT_SHA = createHash('sha1').update(GCRA_SCRIPT).digest('hex');

export interface RedisBucketsOptions {
  url: string;
  /**
   * Deadline of one Redis command (ms). A decision waits at most this long before it is made on
   * the local buckets instead, so keep it well under the request budget.
   */
  commandTimeoutMs: number;
  /** Pass the caller's time to the script instead of the Redis server's (tests). */
  clock?: (() => number) | undefined;
}

/**
 * The connection and the script. Commands fail at once instead of waiting while Redis is
 * unreachable (no offline queue, no retries of in-flight commands), and every command has a
 * short deadline: a dead or stalled Redis costs a request at most `commandTimeoutMs`, and the
 * failover layer (failover.ts) stops asking it after the first failure.
 */
export class RedisBuckets {
  readonly client: Redis;
  private loading: Promise<unknown> | undefined;
  /** Script arguments after `now`, kept per charge set: stage-1 sets live as long as their plan. */
  private readonly argsOf = new WeakMap<ChargeSet, string[]>();

  constructor(private readonly options: RedisBucketsOptions) {
    const settings: RedisOptions = {
      // Concurrent decisions share one write and one read on the socket (one round trip).
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(500, options.commandTimeoutMs * 10),
      // Keep reconnecting in the background, never more than a second apart.
      retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
    };
    // Connects at once; the failover layer listens for `ready` before it sends anything.
    this.client = new Redis(options.url, settings);
  }

  /**
   * Charges `set` atomically. EVALSHA first (the script is loaded once); on NOSCRIPT (a Redis
   * restart, failover to a replica, SCRIPT FLUSH) the script is loaded again and the call repeated.
   */
  charge(set: ChargeSet): Promise<ChargeOutcome> {
    const args = this.scriptArgs(set);
    // Plain promise chains, not async functions: this runs on every request, and each async
    // layer costs its own promise and microtask.
    return this.client
      .evalsha(GCRA_SCRIPT_SHA, set.keys.length, ...args)
      .then(outcomeOf, (error) => {
        if (!isNoScript(error)) throw error;
        return this.loadScript()
          .then(() => this.client.evalsha(GCRA_SCRIPT_SHA, set.keys.length, ...args))
          .then(outcomeOf);
      });
  }

  /** Loads the script; concurrent callers share one SCRIPT LOAD. */
  loadScript(): Promise<unknown> {
    this.loading ??= this.client.script('LOAD', GCRA_SCRIPT).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Runs the script on no key: proves the connection answers in time and the script runs. */
  async probe(): Promise<void> {
    await this.charge({ specs: [], keys: [], costs: [], increments: [], tolerances: [] });
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      // Not connected: nothing to say goodbye to.
    }
    this.client.disconnect();
  }

  private scriptArgs(set: ChargeSet): string[] {
    let rates = this.argsOf.get(set);
    if (rates === undefined) {
      rates = [];
      for (let i = 0; i < set.keys.length; i++)
        rates.push(String(set.increments[i]!), String(set.tolerances[i]!));
      this.argsOf.set(set, rates);
    }
    const now = this.options.clock ? String(this.options.clock()) : '';
    return [...set.keys, now, ...rates];
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function outcomeOf(reply: unknown): ChargeOutcome {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
  }
  const [index, waitMs] = reply as [number, number];
  return index === 0 ? CHARGED : { allowed: false, index: index - 1, waitMs };
}
