import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection, in percent.
 * Pharos's default: 100 (the limit is twice the live heap); V8's own factor goes up to 4×.
 *
 * Why: delivery batches live for up to `delivery.batchMaxAge` (1 s), so they outlive the young
 * generation and are promoted; with V8's default growth the old generation then fills with
 * garbage up to several times the live heap before a full collection, which is what made the
 * resident memory of a loaded Pharos reach 320–340 MiB against ~60 MiB of live heap. At 100% the
 * peak under the bench's full load is ~240 MiB, for no measurable CPU (docs/performance.md,
 * finding 13). V8's own heuristics decide the rest (idle-time collection, the memory reducer).
 */
export const HEAP_GROWING_PERCENT = 100;

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
