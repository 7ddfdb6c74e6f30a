import { describe, expect, it } from 'vitest';
import { encodeLogfmt, logfmtKey, logfmtPair, logfmtValue } from './logfmt.js';

// go-logfmt v0.6.1 behaviour, checked against the library.

describe('logfmt values', () => {
  it.each([
    ['plain', 'plain'],
    ['with space', '"with space"'],
    ['a=b', '"a=b"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['q"q', '"q\\"q"'],
    ['null', '"null"'],
    ['nul', 'nul'],
    ['NULL', 'NULL'],
    ['back\\slash', 'back\\slash'], // a backslash alone does not quote
    ['back\\ slash', '"back\\\\ slash"'],
    ['line\nbreak', '"line\\nbreak"'],
    ['cr\rx', '"cr\\rx"'],
    ['tab\there', '"tab\\there"'],
    ['bell\u0007', '"bell\\u0007"'],
    ['nul\u0000', '"nul\\u0000"'],
    ['esc\u001b', '"esc\\u001b"'],
    ['del\u007f', '"del\\u007f"'],
    ['fffd\ufffd', '"fffd\\ufffd"'],
    ['lone\ud800', '"lone\\ufffd"'], // Go decoded the lone surrogate to U+FFFD
    ['uni é ✓', '"uni é ✓"'],
    ['é✓', 'é✓'], // non-ASCII is written raw
    ['😀', '😀'],
    ['<b>&amp;</b>', '<b>&amp;</b>'],
    ['line\u2028sep', 'line\u2028sep'],
    ['http://127.0.0.1:5600/s/main', 'http://127.0.0.1:5600/s/main'],
    ['a,b:c|d', 'a,b:c|d'],
  ])('%j → %s', (input, expected) => {
    expect(logfmtValue(input)).toBe(expected);
  });

  it('writes numbers with %v and never quotes them', () => {
    expect(logfmtPair('value_lcp', 2345.6)).toBe('value_lcp=2345.6');
    expect(logfmtPair('value_x', 1e21)).toBe('value_x=1e+21');
    expect(logfmtPair('value_x', 1e-5)).toBe('value_x=1e-05');
    expect(logfmtPair('value_x', -0)).toBe('value_x=-0');
  });
});

describe('logfmt keys', () => {
  it.each([
    ['context_my key', 'context_mykey'],
    ['a=b', 'ab'],
    ['q"q', 'qq'],
    ['tab\tnl\n', 'tabnl'],
    ['del\u007f', 'del'],
    ['fffd\ufffd', 'fffd'],
    ['lone\udc00', 'lone'],
    ['emoji😀', 'emoji😀'],
    ['back\\slash', 'back\\slash'],
  ])('%j → %s', (input, expected) => {
    expect(logfmtKey(input)).toBe(expected);
  });

  it('drops a pair whose key is empty once sanitised (go-logfmt: invalid key)', () => {
    expect(logfmtPair(' ', 'x')).toBeUndefined();
    expect(logfmtPair('', 'x')).toBeUndefined();
    expect(
      encodeLogfmt([
        ['a', '1'],
        ['', '2'],
        ['b', '3'],
      ]),
    ).toBe('a=1 b=3');
  });
});

describe('encodeLogfmt', () => {
  it('joins pairs with single spaces, no trailing newline', () => {
    expect(
      encodeLogfmt(
        new Map<string, string | number>([
          ['timestamp', '2021-09-30 10:46:17.68 +0000 UTC'],
          ['kind', 'log'],
          ['value_x', 1.5],
        ]),
      ),
    ).toBe('timestamp="2021-09-30 10:46:17.68 +0000 UTC" kind=log value_x=1.5');
    expect(encodeLogfmt([])).toBe('');
  });
});
