import { describe, expect, it } from 'vitest';
import { looksLikeId } from './id-segments.js';
import { parseRoutePattern } from './route-patterns.js';
import { createRouteTemplater } from './route-template.js';

describe('automatic route templates', () => {
  const route = createRouteTemplater([]);

  it.each([
    // The fixtures' pages: names with digits in short words stay.
    ['http://127.0.0.1:5600/s/main', '/s/main'],
    ['http://127.0.0.1:5600/s/rate-limit-429-no-expose', '/s/rate-limit-429-no-expose'],
    ['http://127.0.0.1:5600/s/session-invalid', '/s/session-invalid'],
    // Origin, query string, fragment, trailing slash and empty segments are dropped.
    ['https://shop.example.com', '/'],
    ['https://shop.example.com/', '/'],
    ['https://shop.example.com/?utm_source=mail#top', '/'],
    ['https://shop.example.com/search?q=red+shoes&page=2', '/search'],
    ['https://shop.example.com/cart/', '/cart'],
    ['https://shop.example.com//account///settings//', '/account/settings'],
    ['https://user:secret@shop.example.com:8443/help#faq', '/help'],
    ['https://shop.example.com/a/b/../c/./d', '/a/c/d'],
    // Numeric ids, dates and versions.
    ['https://shop.example.com/products/12345?ref=home#reviews', '/products/:id'],
    ['https://api.example.com/api/v1/users/42/orders/7', '/api/v1/users/:id/orders/:id'],
    ['https://blog.example.com/2024/05/17/our-new-checkout', '/:id/:id/:id/our-new-checkout'],
    ['https://example.com/archive/2024-05-17', '/archive/:id'],
    ['https://example.com/releases/1.2.3/notes', '/releases/:id/notes'],
    // UUIDs, hashes, object ids.
    [
      'https://app.example.com/users/3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b/profile',
      '/users/:id/profile',
    ],
    ['https://app.example.com/USERS/3F2B8C1E-9A4D-4E6F-8B7A-1C2D3E4F5A6B', '/USERS/:id'],
    ['https://app.example.com/items/507f1f77bcf86cd799439011', '/items/:id'],
    ['https://git.example.com/commit/d51350b017f5f4f5798fdd61cd68ab3a109a9fac', '/commit/:id'],
    ['https://app.example.com/trace/4bf92f3577b34da6a3ce929d0e0e4736', '/trace/:id'],
    // Mixed letters and digits of 8+ characters: session ids, order numbers, tokens.
    ['https://app.example.com/s/69tcByp4Jx', '/s/:id'],
    ['https://app.example.com/order/ORD-8F3A9B2C1D/track', '/order/:id/track'],
    ['https://app.example.com/share/dQw4w9WgXcQ', '/share/:id'],
    [
      'https://app.example.com/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl',
      '/reset/:id',
    ],
    // Names that merely contain digits stay.
    ['https://shop.example.com/phones/iphone-15-pro', '/phones/iphone-15-pro'],
    ['https://shop.example.com/api/v2/health', '/api/v2/health'],
    ['https://example.com/covid19/dashboard', '/covid19/dashboard'],
    ['https://example.com/de-de/html5-games', '/de-de/html5-games'],
    // Personal data and data blobs never become labels.
    ['https://app.example.com/users/alice@example.com/settings', '/users/:id/settings'],
    ['https://app.example.com/users/alice%40example.com', '/users/:id'],
    [`https://app.example.com/state/${'x'.repeat(80)}`, '/state/:id'],
    // Percent-escapes are decoded, so labels read like the page.
    ['https://café.example.com/caf%C3%A9/menu', '/café/menu'],
    ['https://example.com/bad%escape', '/bad%escape'],
    // Relative URLs from hand-written senders.
    ['/products/99?x=1', '/products/:id'],
    ['checkout', '/checkout'],
    // Hash routers all share their document's path.
    ['https://app.example.com/#/products/12', '/'],
  ])('%s → %s', (url, expected) => {
    expect(route(url)).toBe(expected);
  });

  it('gives the same routes when its cache of recent URLs fills up and is cleared', () => {
    const cached = createRouteTemplater(['/docs/*']);
    const routes = new Set<string>();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) {
        routes.add(cached(`https://shop.example.com/products/${i}?visit=${round}`));
        routes.add(cached(`https://shop.example.com/docs/page-${i % 7}#${i}`));
      }
    }
    expect(routes).toEqual(new Set(['/products/:id', '/docs/*']));
  });

  it.each([[undefined], [''], ['about:blank'], ['javascript:void(0)'], ['data:text/html,hi']])(
    'has no route for %s',
    (url) => {
      expect(route(url)).toBe('unknown');
    },
  );
});

describe('configured route patterns', () => {
  const route = createRouteTemplater([
    '/products/new',
    '/products/:id',
    '/docs/*',
    '/:locale/shop/:category/',
    '/download/windows10x64',
  ]);

  it.each([
    ['https://shop.example.com/products/new', '/products/new'],
    ['https://shop.example.com/products/blue-running-shoes?color=blue', '/products/:id'],
    ['https://shop.example.com/products/12345/', '/products/:id'],
    // Not the pattern's shape: automatic templating.
    ['https://shop.example.com/products/12345/reviews', '/products/:id/reviews'],
    ['https://shop.example.com/products', '/products'],
    ['https://docs.example.com/docs/getting-started', '/docs/*'],
    ['https://docs.example.com/docs/guides/metrics/histograms#buckets', '/docs/*'],
    ['https://docs.example.com/docs', '/docs'],
    ['https://shop.example.com/fr-ca/shop/chaussures', '/:locale/shop/:category'],
    // A literal pattern keeps a name the automatic rules would take for an id.
    ['https://example.com/download/windows10x64', '/download/windows10x64'],
  ])('%s → %s', (url, expected) => {
    expect(route(url)).toBe(expected);
  });

  it('matches literal segments exactly, after decoding both sides', () => {
    const decoded = createRouteTemplater(['/caf%C3%A9/:dish']);
    expect(decoded('https://example.com/café/soup')).toBe('/caf%C3%A9/:dish');
    expect(decoded('https://example.com/CAFÉ/soup')).toBe('/CAFÉ/soup');
  });

  it('matches the root only with "/"', () => {
    const root = createRouteTemplater(['/']);
    expect(root('https://example.com/')).toBe('/');
    expect(root('https://example.com/about')).toBe('/about');
  });

  it.each([
    ['products/:id', 'must start with "/"'],
    ['/docs/*/intro', '"*" may only be the last segment'],
    ['/files/*.pdf', '"*" must be a whole segment'],
    ['/users/:', '":" is not a valid ":name" segment'],
    ['/users/:user-id', '":user-id" is not a valid ":name" segment'],
    ['/search?q=:term', 'must be a path only'],
  ])('refuses %s', (pattern, problem) => {
    expect(() => parseRoutePattern(pattern)).toThrow(problem);
    expect(() => createRouteTemplater([pattern])).toThrow(JSON.stringify(pattern));
  });
});

describe('id-like segments', () => {
  it.each([
    '0',
    '42',
    '2024',
    '12:30',
    '1795573532342c4542cc2fb',
    'a1b2c3d4',
    'Zx-4_QmT8wLp0aVbNc3R',
  ])('%s is an id', (segment) => expect(looksLikeId(segment)).toBe(true));
  it.each(['products', 'v2', 'abc123', 'rate-limit-429', 'deadbeef', 'getting-started', 'ÜBER'])(
    '%s is a name',
    (segment) => expect(looksLikeId(segment)).toBe(false),
  );
});
