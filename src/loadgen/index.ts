export {
  BROWSER_HEADERS,
  DEFAULT_FIXTURES_DIR,
  SESSION_STEPS,
  loadSessionSteps,
} from './fixtures.js';
export type { SessionStep } from './fixtures.js';
export { LatencyRecorder } from './latency.js';
export type { LatencySummary } from './latency.js';
export { resolveOptions } from './options.js';
export type { LoadgenOptions } from './options.js';
export { createRandom } from './random.js';
export type { Random } from './random.js';
export { formatProgress, formatReport } from './report.js';
export { runLoad } from './runner.js';
export type { LoadHooks, LoadProgress, LoadReport } from './runner.js';
export { createRequestSource } from './sessions.js';
export type { AppTarget, GeneratedRequest, KeyPlacement, RequestSource } from './sessions.js';
export type { StatusCounts } from './tally.js';
export { checkTarget, isLoopback, readAppsFile } from './target.js';
export { compileTemplate, renderTemplate } from './template.js';
export type { BodyTemplate } from './template.js';
