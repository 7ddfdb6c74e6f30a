import { describe, expect, it } from 'vitest';
import {
  InvalidSourceMapError,
  estimateHeapBytes,
  minifiedFileOf,
  parseSourceMapJson,
} from './source-map-text.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('parseSourceMapJson', () => {
  it('accepts version 3 maps with mappings and sources, and index maps', () => {
    expect(parseSourceMapJson(json({ version: 3, sources: [], mappings: '' }))).toBeDefined();
    expect(parseSourceMapJson(json({ version: 3, sections: [] }))).toBeDefined();
  });

  it.each([
    ['not JSON', Buffer.from('{')],
    ['an array', json([])],
    ['version 2', json({ version: 2, sources: [], mappings: '' })],
    ['no mappings', json({ version: 3, sources: [] })],
    ['mappings not a string', json({ version: 3, sources: [], mappings: [] })],
    ['no sources', json({ version: 3, mappings: '' })],
  ])('refuses %s', (_what, bytes) => {
    expect(() => parseSourceMapJson(bytes)).toThrow(InvalidSourceMapError);
  });
});

describe('minifiedFileOf', () => {
  it('uses the basename of `file`, else the map name minus .map', () => {
    expect(minifiedFileOf({ version: 3, file: 'dist/app.min.js' })).toBe('app.min.js');
    expect(minifiedFileOf({ version: 3, file: 'C:\\build\\app.js' })).toBe('app.js');
    expect(minifiedFileOf({ version: 3 }, 'build/dist/chunk.js.map')).toBe('chunk.js');
    expect(minifiedFileOf({ version: 3, file: '' }, 'x.map')).toBe('x');
    expect(minifiedFileOf({ version: 3 }, 'notamap')).toBeUndefined();
    expect(minifiedFileOf({ version: 3 })).toBeUndefined();
  });
});

describe('estimateHeapBytes', () => {
  it('charges decoded segments and lines, not sourcesContent', () => {
    const map = {
      version: 3 as const,
      sources: ['a'],
      mappings: 'AAAA,CAAC;;CAAC',
      sourcesContent: ['x'.repeat(500)],
    };
    const bytes = json(map).length;
    expect(estimateHeapBytes(map, bytes)).toBe(bytes - 500 + 3 * 100 + 3 * 180);
  });
});
