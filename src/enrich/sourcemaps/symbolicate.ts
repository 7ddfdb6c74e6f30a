import { originalPositionFor, type TraceMap } from '@jridgewell/trace-mapping';
import type { FaroFrame } from '../../model/index.js';
import type { FrameResult, MapLookup } from './resolver.js';

/** Where a symbolicated frame was in the minified code, as the browser reported it. */
export interface MinifiedPosition {
  filename: string;
  function?: string;
  lineno: number;
  colno: number;
}

/**
 * A frame after symbolication: `filename`, `lineno`, `colno` and (when known) `function` are the
 * original ones; `minified` keeps what the browser reported (the model keeps unknown fields, so
 * every sink stores it, and a frame that has it is never symbolicated twice). `module` and every
 * other field are left as they were.
 */
export type SymbolicatedFrame = FaroFrame & { minified?: MinifiedPosition };

/** A position in the original source; line and column 1-based, as browsers and Faro count. */
export interface OriginalPosition {
  source: string;
  line: number;
  column: number;
  /** The `names` entry of the mapping at this position, if any. */
  name: string | null;
}

/**
 * Browsers report 1-based lines and 1-based columns (`Error.stack`, and Faro copies them).
 * trace-mapping's `originalPositionFor` takes a 1-based line and a 0-based column and answers the
 * same way. So the column goes in minus one and comes out plus one; lines pass through.
 */
export function originalPositionOf(
  map: TraceMap,
  lineno: number,
  colno: number,
): OriginalPosition | undefined {
  const found = originalPositionFor(map, { line: lineno, column: colno - 1 });
  if (found.source === null) return undefined;
  return { source: found.source, line: found.line, column: found.column + 1, name: found.name };
}

/**
 * What browsers put in place of a file for code that has none (eval'd or native code): V8's
 * `<anonymous>`, Safari's `[native code]`. No map can exist for them; they are not counted.
 */
const PLACEHOLDER_FILENAME = /^<[^>]*>$|^\[native code\]$|^native$/;

/** A frame symbolication can work on: a file, and a position a browser could have reported. */
export function hasPosition(
  frame: SymbolicatedFrame,
): frame is SymbolicatedFrame & { filename: string; lineno: number; colno: number } {
  return (
    typeof frame.filename === 'string' &&
    frame.filename !== '' &&
    !PLACEHOLDER_FILENAME.test(frame.filename) &&
    Number.isInteger(frame.lineno) &&
    (frame.lineno as number) >= 1 &&
    Number.isInteger(frame.colno) &&
    (frame.colno as number) >= 1 &&
    frame.minified === undefined
  );
}

/**
 * Rewrites one stack trace's frames in place (innermost first, as Faro sends them) and reports
 * each frame's result. Frames without a map, or without a mapping at their position, keep their
 * values.
 *
 * Function names. The `names` entry at a frame's own position names the identifier written
 * there, which in a stack frame is what is being *called* (`computeLineTotal(...)` inside the
 * reduce callback), not the function the frame is in. The caller's frame, one further out, sits
 * on the call to this frame's function, so its name is this frame's original function name
 * (the approach of Sentry's symbolicator). When the caller frame has no position or no name
 * there (a native `Array.reduce`, the outermost frame), the minified name is kept: a minified
 * but true name is more useful than a readable wrong one.
 */
export function symbolicateFrames(
  frames: SymbolicatedFrame[],
  lookupFor: (filename: string) => MapLookup | undefined,
  count: (result: FrameResult) => void,
): void {
  const positions: (OriginalPosition | undefined)[] = frames.map((frame) => {
    if (!hasPosition(frame)) return undefined;
    const lookup = lookupFor(frame.filename);
    if (lookup === undefined) return undefined;
    if ('failure' in lookup) {
      count(lookup.failure);
      return undefined;
    }
    const position = originalPositionOf(lookup.map, frame.lineno, frame.colno);
    count(position ? 'resolved' : 'no_mapping');
    return position;
  });

  frames.forEach((frame, index) => {
    const position = positions[index];
    if (!position || !hasPosition(frame)) return;
    const calledName = positions[index + 1]?.name;
    const minified: MinifiedPosition = {
      filename: frame.filename,
      lineno: frame.lineno,
      colno: frame.colno,
    };
    if (frame.function !== undefined) minified.function = frame.function;
    frame.minified = minified;
    frame.filename = position.source;
    frame.lineno = position.line;
    frame.colno = position.column;
    if (calledName) frame.function = calledName;
  });
}
