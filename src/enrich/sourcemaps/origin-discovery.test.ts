import { describe, expect, it } from 'vitest';
import { MapTooLargeError } from './map-cache.js';
import { decodeDataUrl, sourceMappingUrlOf } from './origin-discovery.js';

const script = (text: string) => Buffer.from(text);

describe('sourceMappingUrlOf', () => {
  it('reads the comment on the last non-blank line', () => {
    expect(sourceMappingUrlOf(script('a();\n//# sourceMappingURL=app.js.map\n\n  \n'), {})).toBe(
      'app.js.map',
    );
    expect(sourceMappingUrlOf(script('a();\r\n//@ sourceMappingURL=old.map'), {})).toBe('old.map');
  });

  it('ignores a comment that is not on the last line', () => {
    expect(sourceMappingUrlOf(script('//# sourceMappingURL=a.map\nb();\n'), {})).toBeUndefined();
    expect(sourceMappingUrlOf(script('x = "//# sourceMappingURL=a.map";'), {})).toBeUndefined();
  });

  it('prefers the SourceMap header (then X-SourceMap) to the comment', () => {
    const body = script('a();\n//# sourceMappingURL=comment.map');
    expect(sourceMappingUrlOf(body, { sourcemap: '/header.map' })).toBe('/header.map');
    expect(sourceMappingUrlOf(body, { 'x-sourcemap': '/old-header.map' })).toBe('/old-header.map');
  });
});

describe('decodeDataUrl', () => {
  const json = '{"version":3,"sources":[],"mappings":""}';

  it('decodes base64 and percent-encoded maps', () => {
    const base64 = `data:application/json;charset=utf-8;base64,${Buffer.from(json).toString('base64')}`;
    expect(decodeDataUrl(base64, 1000).toString()).toBe(json);
    expect(
      decodeDataUrl(`data:application/json,${encodeURIComponent(json)}`, 1000).toString(),
    ).toBe(json);
  });

  it('refuses an inline map over the cap before decoding it', () => {
    const big = `data:application/json;base64,${'A'.repeat(4000)}`;
    expect(() => decodeDataUrl(big, 1000)).toThrow(MapTooLargeError);
  });
});
