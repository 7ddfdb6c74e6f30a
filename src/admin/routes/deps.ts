import type { InternalServerDeps } from '../server.js';

/** What the admin routes need: the listener's dependencies and a handle on the token cache. */
export interface AdminRouteDeps extends InternalServerDeps {
  /** Forgets verified tokens after a revocation, so that it takes effect at once. */
  forgetTokens(): void;
}
