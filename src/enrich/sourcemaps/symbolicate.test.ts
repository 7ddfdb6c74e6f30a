import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { describe, expect, it } from 'vitest';
import type { FrameResult, MapLookup } from './resolver.js';
import { originalPositionOf, symbolicateFrames, type SymbolicatedFrame } from './symbolicate.js';

/**
 * Generated line 1 has a segment at every column 0…3 and at 10, 11, so a column off by one
 * lands on a different segment. Segments are [generated column, source, line, column, name?],
 * all 0-based (the decoded form trace-mapping accepts).
 */
const map = new TraceMap({
  version: 3,
  file: 'app.min.js',
  sources: ['src/app.ts'],
  names: ['outer', 'inner', 'helper'],
  mappings: [
    [
      [0, 0, 0, 0],
      [1, 0, 1, 0],
      [2, 0, 2, 0],
      [3, 0, 3, 0],
      [10, 0, 4, 2, 0],
      [11, 0, 6, 8, 1],
      [20, 0, 9, 4, 2],
    ],
    [],
    [[5, 0, 12, 6]],
  ],
});

describe('line and column bases', () => {
  it('takes the browser 1-based column, gives a 1-based column, as trace-mapping says', () => {
    // Browser column 11 is 0-based column 10: the `outer` segment, original line 5, column 2 (0-based).
    expect(originalPositionOf(map, 1, 11)).toEqual({
      source: 'src/app.ts',
      line: 5,
      column: 3,
      name: 'outer',
    });
    for (let colno = 1; colno <= 25; colno++) {
      const direct = originalPositionFor(map, { line: 1, column: colno - 1 });
      const ours = originalPositionOf(map, 1, colno);
      if (direct.source === null) expect(ours, `colno ${colno}`).toBeUndefined();
      else
        expect(ours, `colno ${colno}`).toEqual({
          source: direct.source,
          line: direct.line,
          column: direct.column + 1,
          name: direct.name,
        });
    }
    // An off-by-one (passing the browser column straight in, as Alloy does) would give line 7.
    expect(originalPositionFor(map, { line: 1, column: 11 }).line).toBe(7);
  });

  it('passes lines through (1-based on both sides)', () => {
    expect(originalPositionOf(map, 3, 6)).toMatchObject({ line: 13, column: 7 });
  });

  it('has no position for a line without mappings', () => {
    expect(originalPositionOf(map, 2, 1)).toBeUndefined();
    expect(originalPositionOf(map, 99, 1)).toBeUndefined();
  });
});

describe('symbolicateFrames', () => {
  const file = 'https://shop.example/static/app.min.js';
  const lookups = (lookup: MapLookup) => () => lookup;
  const run = (frames: SymbolicatedFrame[], lookup: MapLookup = { map }) => {
    const results: FrameResult[] = [];
    symbolicateFrames(frames, lookups(lookup), (result) => results.push(result));
    return results;
  };

  it('names a frame by its caller call site, keeps module and the minified position', () => {
    const frames: SymbolicatedFrame[] = [
      // Inside `inner`, called from the frame below at the `inner` call (col 12 → segment 11).
      { filename: file, function: 'b', lineno: 1, colno: 2, module: 'shop' },
      { filename: file, function: 'a', lineno: 1, colno: 12 },
      { filename: '<anonymous>', function: 'Array.forEach' },
    ];
    expect(run(frames)).toEqual(['resolved', 'resolved']);
    expect(frames[0]).toEqual({
      filename: 'src/app.ts',
      function: 'inner',
      lineno: 2,
      colno: 1,
      module: 'shop',
      minified: { filename: file, function: 'b', lineno: 1, colno: 2 },
    });
    // Its caller is native code without a position: the minified name stays.
    expect(frames[1]).toMatchObject({ function: 'a', lineno: 7, colno: 9 });
    expect(frames[2]).toEqual({ filename: '<anonymous>', function: 'Array.forEach' });
  });

  it('keeps frames it cannot resolve as they were, and counts why', () => {
    const frames: SymbolicatedFrame[] = [
      { filename: file, function: 'x', lineno: 2, colno: 1 },
      { filename: 'https://other.example/lib.js', function: 'y', lineno: 1, colno: 1 },
    ];
    const before = structuredClone(frames);
    const results: FrameResult[] = [];
    symbolicateFrames(
      frames,
      (filename) => (filename === file ? { map } : { failure: 'no_map' }),
      (result) => results.push(result),
    );
    expect(results).toEqual(['no_mapping', 'no_map']);
    expect(frames).toEqual(before);
  });

  it('skips frames without a usable position, and frames already symbolicated', () => {
    const frames: SymbolicatedFrame[] = [
      { filename: file, function: 'x', lineno: 1 },
      { filename: file, function: 'x', lineno: 1, colno: 0 },
      { filename: '', lineno: 1, colno: 1 },
      { filename: file, lineno: 1.5, colno: 1 },
      { filename: '<anonymous>', function: 'UtilityScript.evaluate', lineno: 372, colno: 16 },
      { filename: '[native code]', lineno: 1, colno: 1 },
    ];
    expect(run(frames)).toEqual([]);
    const once: SymbolicatedFrame[] = [{ filename: file, function: 'x', lineno: 1, colno: 11 }];
    run(once);
    const after = structuredClone(once);
    expect(run(once)).toEqual([]);
    expect(once).toEqual(after);
  });
});
