export { createLimiter } from './limiter.js';
export type { Limiter, LimiterOptions } from './limiter.js';
export { effectiveLimits } from './plan.js';
export type { LimitDefaults, TenantLimitsSource } from './plan.js';
export type { LimiterBackend } from './metrics.js';
export { ALLOWED } from './types.js';
export type { LimitDecision, LimitLevel, LimitName, LimitRefusal, PayloadUsage } from './types.js';
