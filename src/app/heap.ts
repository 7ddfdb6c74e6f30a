import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection, in percent.
 * Pharos's default: 200 (the limit is three times the live heap); V8's own factor goes up to 4×.
 *
 * Why: delivery batches live for up to `delivery.batchMaxAge` (1 s), so they outlive the young
 * generation and are promoted; with V8's default growth the old generation then fills with
 * garbage to several times the live heap before a full collection: a peak of ~303 MiB resident
 * under the bench's full load. At 200 the peak is ~266 MiB for the same CPU per request; at 100 it
 * is ~231 MiB but every request costs ~4% more, in more frequent full collections (interleaved
 * runs; docs/performance.md, finding 13). V8's own heuristics decide the rest.
 */
export const HEAP_GROWING_PERCENT = 200;

/**
 * Applies the heap growth limit to this process, unless the operator chose one
 * (`node --heap-growing-percent=N`, in the command line or NODE_OPTIONS). V8 reads the flag each
 * time it sets the next collection's limit, so setting it at start-up takes effect.
 */
export function tuneHeapGrowth(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  const chosen = (arg: string) => /^--heap[-_]growing[-_]percent\b/.test(arg);
  if (execArgv.some(chosen) || nodeOptions.split(/\s+/).some(chosen)) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
