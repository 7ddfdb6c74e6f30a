import type { Logger } from 'pino';
import type { AcceptedBatch, FaroException } from '../../model/index.js';
import type { Enricher } from '../types.js';
import type { FrameContext, FrameResult, MapLookup, SourceMapResolver } from './resolver.js';
import { hasPosition, symbolicateFrames, type SymbolicatedFrame } from './symbolicate.js';

/** Longer frame filenames are not looked up (browsers cap stack lines at 1 KiB of text anyway). */
const MAX_FILENAME_LENGTH = 2048;

export interface EnricherOptions {
  /**
   * Longest a batch waits for maps to load. Frames whose map is not ready by then keep their
   * values (counted as `timeout`); the load goes on, so the next batch finds the map cached.
   */
  maxWaitMs: number;
  /** Distinct files looked up per batch; frames of further files count as `no_map`. */
  maxFilesPerBatch: number;
}

/**
 * The symbolication step: rewrites exception frames to original file, line, column and function
 * (see symbolicate.ts). Synchronous when every map it needs is in memory; otherwise it returns a
 * promise that settles once the maps are loaded, or after `maxWaitMs`. It never rejects: a frame
 * that cannot be resolved keeps its values and its reason is counted.
 */
export function createSourcemapEnricher(
  resolver: Pick<SourceMapResolver, 'lookup'>,
  countFrame: (result: FrameResult) => void,
  options: EnricherOptions,
  logger?: Logger,
): Enricher {
  return {
    name: 'sourcemaps',
    enrich(batch: AcceptedBatch): void | Promise<void> {
      const exceptions = batch.payload.exceptions;
      if (!exceptions || exceptions.length === 0) return;
      const app = batch.payload.meta?.app;
      const context: FrameContext = {
        tenantId: batch.tenantId,
        appId: batch.appId,
        bundleId: app?.bundleId,
        release: app?.release,
      };

      // One lookup per distinct file in the batch: a stack has many frames from one bundle.
      const lookups = new Map<string, MapLookup | Promise<MapLookup>>();
      let mustWait = false;
      for (const frame of framesOf(exceptions)) {
        if (!hasPosition(frame) || lookups.has(frame.filename)) continue;
        // A forged payload may name hundreds of files: each could cost a store read or a download.
        const lookup: MapLookup | Promise<MapLookup> =
          frame.filename.length > MAX_FILENAME_LENGTH || lookups.size >= options.maxFilesPerBatch
            ? { failure: 'no_map' }
            : resolver.lookup(context, frame.filename);
        lookups.set(frame.filename, lookup);
        if (lookup instanceof Promise) mustWait = true;
      }
      if (lookups.size === 0) return;
      if (!mustWait) {
        apply(exceptions, lookups as Map<string, MapLookup>, countFrame, logger);
        return;
      }
      return settle(lookups, options.maxWaitMs).then((settled) =>
        apply(exceptions, settled, countFrame, logger),
      );
    },
  };
}

function* framesOf(exceptions: FaroException[]): Generator<SymbolicatedFrame> {
  for (const exception of exceptions) yield* exception.stacktrace?.frames ?? [];
}

/** Waits for the lookups, at most `maxWaitMs`; those still loading then count as `timeout`. */
async function settle(
  lookups: Map<string, MapLookup | Promise<MapLookup>>,
  maxWaitMs: number,
): Promise<Map<string, MapLookup>> {
  const settled = new Map<string, MapLookup>();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, maxWaitMs);
  });
  const all = Promise.all(
    [...lookups].map(async ([filename, lookup]) => {
      try {
        settled.set(filename, await lookup);
      } catch {
        // The resolver settles every failure itself; this is a last line of defence.
        settled.set(filename, { failure: 'error' });
      }
    }),
  );
  await Promise.race([all, deadline]);
  clearTimeout(timer);
  for (const filename of lookups.keys())
    if (!settled.has(filename)) settled.set(filename, { failure: 'timeout' });
  return settled;
}

function apply(
  exceptions: FaroException[],
  lookups: Map<string, MapLookup>,
  countFrame: (result: FrameResult) => void,
  logger: Logger | undefined,
): void {
  for (const exception of exceptions) {
    const frames = exception.stacktrace?.frames;
    if (!frames) continue;
    try {
      symbolicateFrames(frames, (filename) => lookups.get(filename), countFrame);
    } catch (error) {
      // A map that decodes but answers nonsense must not fail the batch.
      logger?.error({ err: error }, 'symbolication failed; frames kept as sent');
      countFrame('error');
    }
  }
}
