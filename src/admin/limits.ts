import type { LimitDefaults } from '../admission/limits/index.js';

// The limiter's own merge: the effective limits the API shows are the ones it enforces.
export { effectiveLimits } from '../admission/limits/index.js';
export type { LimitDefaults };

/** When the assembly passes no defaults (tests, tools): none at any level. */
export const NO_LIMIT_DEFAULTS: LimitDefaults = { global: {}, tenant: {}, app: {} };
