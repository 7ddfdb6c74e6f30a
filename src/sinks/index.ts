export { createFanout } from './fanout.js';
export type { Fanout, SinkRoutes } from './fanout.js';
export { createStoreSink } from './store-sink.js';
export type { StoreSinkOptions } from './store-sink.js';
export type { Sink } from './types.js';
export { SinkRouter } from './router.js';
export type { SinkRouterDeps } from './router.js';
