import type { ItemKind } from '../../model/index.js';
import type { RateLimit } from '../../registry/index.js';

/** Where a limit applies: all traffic together, one tenant, or one app. */
export type LimitLevel = 'global' | 'tenant' | 'app';

/** Which limit of a level: the request rate, or one of the payload rates (after parsing). */
export type LimitName = 'requests' | 'items' | 'bytes' | `kinds.${ItemKind}`;

/**
 * One rate-limited bucket of one level, resolved from the configuration and the registry.
 * Built once per app snapshot (see plan.ts), never per request.
 */
export interface BucketSpec {
  /** Storage key, with the Redis key prefix: `pharos:limit:tenant:acme:requests`. */
  readonly key: string;
  readonly level: LimitLevel;
  /** The tenant or app id; empty for the global level. */
  readonly subject: string;
  readonly limit: LimitName;
  readonly rate: RateLimit;
}

/** What one request weighs after parsing: the costs of the stage-2 buckets. */
export interface PayloadUsage {
  /** Logs + exceptions + measurements + events + spans. */
  readonly items: number;
  /** Decoded body bytes. */
  readonly bytes: number;
  readonly kinds: Readonly<Record<ItemKind, number>>;
}

/**
 * Buckets to charge together, all or nothing, in the form both backends read without further
 * work: for bucket i, `increments[i]` is cost × emission interval and `tolerances[i]` the
 * largest debt it may hold (both in ms, see gcra.ts).
 */
export interface ChargeSet {
  readonly specs: readonly BucketSpec[];
  readonly keys: readonly string[];
  readonly costs: readonly number[];
  readonly increments: readonly number[];
  readonly tolerances: readonly number[];
}

/** A backend's answer: every bucket charged, or none and which one needs the longest wait. */
export type ChargeOutcome =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** Index in the charge set of the bucket that needs the longest wait. */
      readonly index: number;
      /** Time until the whole set would fit, if nothing else took from the buckets (ms). */
      readonly waitMs: number;
    };

export const CHARGED: ChargeOutcome = Object.freeze({ allowed: true });

/** A store of buckets. The memory store answers synchronously; Redis with a promise. */
export interface BucketStore {
  charge(set: ChargeSet): ChargeOutcome | Promise<ChargeOutcome>;
}

/** A request (stage 1) or a payload (stage 2) the limits let through. */
export interface LimitAllowed {
  readonly allowed: true;
}

/** A refusal, with everything the answer and the metrics need. */
export interface LimitRefusal {
  readonly allowed: false;
  readonly level: LimitLevel;
  readonly subject: string;
  readonly limit: LimitName;
  readonly rate: RateLimit;
  /** What the refused request would have cost in that bucket (1 request, n items, n bytes). */
  readonly cost: number;
  /** Time until the request would fit, in whole seconds, at least 1. */
  readonly retryAfterSeconds: number;
  /** For the error body: `tenant acme is over its limit of 100 requests/s (burst 200)`. */
  readonly message: string;
}

export type LimitDecision = LimitAllowed | LimitRefusal;

export const ALLOWED: LimitAllowed = Object.freeze({ allowed: true });
