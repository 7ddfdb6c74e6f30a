export { createCollectPipeline } from './collect.js';
export type { CollectLimits, CollectPipeline, CollectPipelineDeps, Received } from './collect.js';
