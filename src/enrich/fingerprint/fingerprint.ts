import { xxh3 } from '@node-rs/xxhash';
import type { FaroException } from '../../model/index.js';
import { groupingFrames, type FrameOptions, type GroupingFrame } from './frames.js';
import { normalizeMessage } from './normalize-message.js';

/**
 * Where Pharos puts its fingerprint on an exception. The client's own `fingerprint` (Faro's
 * custom grouping field) is left as sent; this field is always Pharos's and is overwritten on
 * every exception, so a client cannot plant one.
 */
export const PHAROS_FINGERPRINT_FIELD = 'pharosFingerprint';

/** An exception after the fingerprint enricher: the model keeps unknown fields, this is one. */
export type FingerprintedException = FaroException & { [PHAROS_FINGERPRINT_FIELD]?: string };

export interface FingerprintOptions extends FrameOptions {
  /** In-app frames that identify the error, innermost first (default 5). */
  readonly maxFrames?: number;
}

/** What decided the group: the client's `fingerprint`, the in-app stack, or type and message. */
export type FingerprintSource = 'client' | 'stack' | 'message';

export interface FingerprintResult {
  /** 16 lower-case hex characters. */
  readonly id: string;
  readonly source: FingerprintSource;
  /** The frames that went into it (empty unless `source` is `stack`). */
  readonly frames: readonly GroupingFrame[];
}

export const DEFAULT_MAX_FRAMES = 5;

/**
 * Bumped when the algorithm changes, so that old and new fingerprints never collide by accident
 * (a change splits every group once; it never merges unrelated ones).
 */
const ALGORITHM = 'pharos-fp-1';

/**
 * The group of an exception, stable across releases and deploys:
 * 1. the client's `fingerprint`, when it sent one (the developer decided; type and stack are
 *    ignored, so one fingerprint can deliberately merge errors of different types);
 * 2. else type + normalised message + the top in-app frames (function and file, never line or
 *    column, which move with every build);
 * 3. else, when no frame is the app's, type + normalised message.
 */
export function computeFingerprint(
  exception: FaroException,
  options: FingerprintOptions = {},
): FingerprintResult {
  const client = exception.fingerprint?.trim();
  if (client) return { id: hash(`${ALGORITHM}\nclient\n${client}`), source: 'client', frames: [] };

  const type = exception.type?.trim() || 'Error';
  const message = normalizeMessage(exception.value ?? '');
  const frames = groupingFrames(
    exception.stacktrace?.frames,
    options.maxFrames ?? DEFAULT_MAX_FRAMES,
    options,
  );
  const lines = [ALGORITHM, frames.length > 0 ? 'stack' : 'message', type, message];
  for (const frame of frames) lines.push(`${frame.function} @ ${frame.file}`);
  return {
    id: hash(lines.join('\n')),
    source: frames.length > 0 ? 'stack' : 'message',
    frames,
  };
}

/** The fingerprint id alone: 16 hex characters. */
export function fingerprintException(
  exception: FaroException,
  options: FingerprintOptions = {},
): string {
  return computeFingerprint(exception, options).id;
}

/** Pharos's fingerprint of an exception, once the enricher has run. */
export function pharosFingerprintOf(exception: FaroException): string | undefined {
  const value = (exception as FingerprintedException)[PHAROS_FINGERPRINT_FIELD];
  return typeof value === 'string' ? value : undefined;
}

/** `computeLineTotal (page/app.js)`: where the error was thrown in the app's code, for display. */
export function culpritOf(exception: FaroException, options: FrameOptions = {}): string | null {
  const [top] = groupingFrames(exception.stacktrace?.frames, 1, options);
  return top ? `${top.function} (${top.file})` : null;
}

function hash(text: string): string {
  return xxh3.xxh64(text).toString(16).padStart(16, '0');
}
