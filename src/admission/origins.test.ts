import { describe, expect, it } from 'vitest';
import { normaliseOrigins } from '../registry/index.js';
import { compileOrigins, originMatcherOf } from './origins.js';

describe('allowed origins', () => {
  const allow = compileOrigins(
    normaliseOrigins([
      'https://Shop.Example.com:443',
      'https://*.preview.example.com',
      'http://localhost:*',
    ]),
  );

  it('matches exact origins, case-insensitively, without the default port', () => {
    expect(allow('https://shop.example.com')).toBe(true);
    expect(allow('https://SHOP.example.com')).toBe(true);
    expect(allow('http://shop.example.com')).toBe(false);
    expect(allow('https://shop.example.com:8443')).toBe(false);
  });

  it('matches subdomain wildcards but not the bare domain or look-alikes', () => {
    expect(allow('https://pr-12.preview.example.com')).toBe(true);
    expect(allow('https://a.b.preview.example.com')).toBe(true);
    expect(allow('https://preview.example.com')).toBe(false);
    expect(allow('https://pr-12.preview.example.com.evil.io')).toBe(false);
    expect(allow('https://evilpreview.example.com')).toBe(false);
  });

  it('matches any port with :*', () => {
    expect(allow('http://localhost:3000')).toBe(true);
    expect(allow('http://localhost')).toBe(true);
    expect(allow('http://localhost:3000.evil.io')).toBe(false);
  });

  it('allows everything with * or an empty list', () => {
    expect(compileOrigins(['*'])('https://anything.example')).toBe(true);
    expect(compileOrigins([])('https://anything.example')).toBe(true);
  });

  it('compiles one matcher per list, so apps sharing a list share its matcher', () => {
    const list = ['https://shop.example.com', 'https://*.preview.example.com'];
    expect(originMatcherOf(list)).toBe(originMatcherOf(list));
    // An equal list that is another object (a reload's) is compiled again, and matches the same.
    const reloaded = [...list];
    expect(originMatcherOf(reloaded)).not.toBe(originMatcherOf(list));
    expect(originMatcherOf(reloaded)('https://pr-1.preview.example.com')).toBe(true);
    expect(originMatcherOf(reloaded)('https://evil.example.com')).toBe(false);
    expect(originMatcherOf([])('https://anything.example')).toBe(true);
    expect(originMatcherOf(['*'])('https://anything.example')).toBe(true);
  });

  it('refuses origins with paths or without a scheme', () => {
    expect(() => normaliseOrigins(['https://shop.example.com/app'])).toThrow(/must look like/);
    expect(() => normaliseOrigins(['shop.example.com'])).toThrow(/must look like/);
  });
});
