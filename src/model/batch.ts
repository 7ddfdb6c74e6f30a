import type { FaroPayload } from './faro.js';

/** Who sent a payload, as admission resolved it from the app key (never from the payload). */
export interface Sender {
  readonly tenantId: string;
  readonly appId: string;
}

/**
 * A payload that passed admission and validation. From here on it is Pharos's promise: every
 * item is delivered to each sink or counted as dropped with a reason.
 */
export interface AcceptedBatch extends Sender {
  /** Receive time, milliseconds since the epoch. */
  readonly receivedAt: number;
  readonly payload: FaroPayload;
  /** Logs + exceptions + measurements + events + spans. */
  readonly itemCount: number;
  /** Decoded body size: what this batch weighs in a queue. */
  readonly bytes: number;
}
