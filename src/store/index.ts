export { TelemetryStore } from './telemetry-store.js';
export type { ItemQuery, RetentionResult, StoredItem, WriteResult } from './telemetry-store.js';
