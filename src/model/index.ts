export * from './faro.js';
export type { AcceptedBatch, Sender } from './batch.js';
