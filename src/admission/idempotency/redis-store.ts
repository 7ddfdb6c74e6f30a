import type { Redis } from 'ioredis';
import { DONE, claimValue, type ClaimState, type IdempotencyStore } from './store.js';

/**
 * Claim in one round trip and atomically: SET NX PX, and when the key exists, what it holds
 * (`SET … NX GET` would do the same but needs Redis 7; a script works on any version).
 */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'claimed' end
return redis.call('GET', KEYS[1])`;

/** Delete only our own claim: a late release must not remove a newer claim or a confirmation. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Keys shared by every replica: `<keyPrefix>idem:<appId>:<Idempotency-Key>` (app ids cannot
 * contain `:`, so the app part is unambiguous).
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  async claim(key: string, token: string, leaseMs: number): Promise<ClaimState> {
    const found = (await this.redis.eval(
      CLAIM,
      1,
      this.redisKey(key),
      claimValue(token),
      String(Math.max(1, Math.round(leaseMs))),
    )) as string | null;
    if (found === 'claimed') return 'claimed';
    return found === DONE ? 'done' : 'in-progress';
  }

  async release(key: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.redisKey(key), claimValue(token));
  }

  async confirm(key: string, windowMs: number): Promise<void> {
    // Unconditional: whoever held the claim, the batch is now accepted and must not be again.
    await this.redis.set(this.redisKey(key), DONE, 'PX', Math.max(1, Math.round(windowMs)));
  }

  private redisKey(key: string): string {
    return `${this.keyPrefix}idem:${key}`;
  }
}
