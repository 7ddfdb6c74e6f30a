export { createCollectPipeline } from './collect.js';
export type { CollectLimits, CollectPipeline, CollectPipelineDeps } from './collect.js';
