import type { FaroException } from '../../model/index.js';
import { pharosFingerprintOf } from './fingerprint.js';

/**
 * The Loki line key of an exception's group: `fingerprint=<id>`, appended after Alloy's keys (the
 * Loki sink's `TrailingKeys` hook), so LogQL can find every occurrence of a group with
 * `| logfmt | fingerprint="…"` without making it a label (one stream per group would explode
 * Loki's index). Other kinds get no key.
 */
export function fingerprintLineKeys(item: {
  readonly kind: string;
  readonly item: unknown;
}): [readonly [string, string]] | undefined {
  if (item.kind !== 'exception') return undefined;
  const fingerprint = pharosFingerprintOf(item.item as FaroException);
  return fingerprint === undefined ? undefined : [['fingerprint', fingerprint]];
}
