export { createIdempotency } from './idempotency.js';
export type {
  Idempotency,
  IdempotencyCounters,
  IdempotencyOptions,
  IdempotencyOutcome,
  IdempotencyTicket,
} from './idempotency.js';
export { MAX_IDEMPOTENCY_KEY_LENGTH, isValidIdempotencyKey, parseIdempotencyKey } from './key.js';
export type { ParsedIdempotencyKey } from './key.js';
export type { ClaimState, IdempotencyStore } from './store.js';
export { MemoryIdempotencyStore } from './memory-store.js';
export { RedisIdempotencyStore } from './redis-store.js';
export { FallbackIdempotencyStore } from './fallback-store.js';
export type { FallbackOptions } from './fallback-store.js';
export { createIdempotencyStore } from './create-store.js';
export type { IdempotencyStoreHandle, IdempotencyStoreSettings } from './create-store.js';
