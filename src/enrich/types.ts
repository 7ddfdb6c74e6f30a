import type { AcceptedBatch } from '../model/index.js';

/**
 * One enrichment step of the data path (symbolication, error fingerprints, privacy rules). It
 * rewrites parts of an accepted batch in place, after validation and before fan-out, so every
 * sink sees the same enriched data.
 */
export interface Enricher {
  readonly name: string;
  /**
   * May return a promise (a source map that must be loaded). Never throws because of the
   * telemetry itself: what cannot be enriched stays as it was, and the reason is counted.
   */
  enrich(batch: AcceptedBatch): void | Promise<void>;
}
