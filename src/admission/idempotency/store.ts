/** What a claim found: nothing (now ours), a claim still in progress, or an accepted batch. */
export type ClaimState = 'claimed' | 'in-progress' | 'done';

/**
 * Where idempotency keys live: per replica (memory) or shared by the replicas (Redis).
 * `key` is already scoped to the app (`<appId>:<Idempotency-Key>`).
 */
export interface IdempotencyStore {
  /**
   * Atomically: when `key` is unknown, records an in-progress claim owned by `token` that
   * expires after `leaseMs` (so a replica that dies mid-request does not hold it forever) and
   * answers `claimed`; otherwise answers what is there.
   */
  claim(key: string, token: string, leaseMs: number): Promise<ClaimState>;
  /** Removes the claim if `token` still owns it: the ingest failed, so a retry must be processed. */
  release(key: string, token: string): Promise<void>;
  /** Records the batch as accepted for `windowMs`: retries within it are answered 202 and skipped. */
  confirm(key: string, windowMs: number): Promise<void>;
}

/** Stored values: `d` once accepted, `p:<token>` while a request works on it. */
export const DONE = 'd';
export const claimValue = (token: string) => `p:${token}`;
