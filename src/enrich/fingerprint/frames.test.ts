import { describe, expect, it } from 'vitest';
import {
  groupingFrames,
  isInAppFrame,
  normalizeFilePath,
  normalizeFunctionName,
} from './frames.js';

describe('normalizeFilePath', () => {
  it.each([
    ['http://127.0.0.1:5600/dist/app.min.js', 'dist/app.min.js'],
    ['https://cdn-2.example.com/assets/app.3f9a2c.js?v=3#frag', 'assets/app.js'],
    ['../../page/app.js', 'page/app.js'],
    ['webpack://my-app/./src/components/Cart.tsx', 'src/components/Cart.tsx'],
    ['https://x.example/assets/index-BwKqTzPx.js', 'assets/index.js'],
    ['https://x.example/assets/index-Bw-qTzPx.js', 'assets/index.js'],
    [
      'https://x.example/_next/static/chunks/pages/index-3f9a2c1b2c3d4e5f.js',
      '_next/static/chunks/pages/index.js',
    ],
    [
      'https://x.example/_next/static/Xk3lP_9aQz-1b2C3d4E5f/_buildManifest.js',
      '_next/static/*/_buildManifest.js',
    ],
    ['https://x.example/static/v1.2.3/main.3f9a2c1b.chunk.js', 'static/*/main.chunk.js'],
    ['https://x.example/static/js/123.abc123de.js', 'static/js/*.js'],
    ['https://x.example/chunk-ABCD1234.js', 'chunk.js'],
    ['http://127.0.0.1:5600/s/main', 's/main'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeFilePath(input)).toBe(expected);
  });

  it('keeps file names that are words, not hashes', () => {
    expect(normalizeFilePath('https://x.example/assets/user-settings.js')).toBe(
      'assets/user-settings.js',
    );
    expect(normalizeFilePath('https://x.example/shop-UserList.js')).toBe('shop-UserList.js');
    expect(normalizeFilePath('https://x.example/react-dom.production.min.js')).toBe(
      'react-dom.production.min.js',
    );
  });

  it('blanks out the release, version and bundle id where a deploy puts them', () => {
    expect(normalizeFilePath('https://x.example/releases/r42/app.js', ['r42'])).toBe(
      'releases/*/app.js',
    );
    expect(normalizeFilePath('https://x.example/app-r42.js', ['r42'])).toBe('app.js');
  });
});

describe('normalizeFunctionName', () => {
  it.each([
    ['aK', '?'],
    ['?', '?'],
    ['', '?'],
    ['Object.cK [as pushHandledError]', 'pushHandledError'],
    ['console.<computed> [as error]', 'error'],
    ['Yn.notify', 'notify'],
    ['computeLineTotal', 'computeLineTotal'],
    ['async loadRecommendations', 'loadRecommendations'],
    ['new Cart', 'Cart'],
    ['render/<', 'render'],
    ['UtilityScript.<anonymous>', 'UtilityScript'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeFunctionName(input)).toBe(expected);
  });
});

describe('in-app frames', () => {
  const app = { filename: 'https://shop.example/assets/app.js', function: 'checkout' };

  it('excludes engine, extension and library frames', () => {
    expect(isInAppFrame(app)).toBe(true);
    for (const filename of [
      '<anonymous>',
      '[native code]',
      '',
      'chrome-extension://abcdef/content.js',
      'moz-extension://1234/inject.js',
      'safari-web-extension://x/y.js',
      '../../node_modules/@grafana/faro-core/src/utils/reactive.ts',
      'webpack://app/node_modules/react-dom/cjs/react-dom.development.js',
      'https://shop.example/vendor/jquery.js',
      'https://shop.example/bower_components/lodash/lodash.js',
      'webpack/bootstrap',
    ]) {
      expect(isInAppFrame({ filename, function: 'f' }), filename).toBe(false);
    }
  });

  it('lets the client decide with in_app', () => {
    expect(isInAppFrame({ ...app, in_app: false })).toBe(false);
    expect(isInAppFrame({ filename: 'node_modules/my-own-lib/x.js', in_app: true })).toBe(true);
  });

  it('takes extra library patterns', () => {
    expect(isInAppFrame(app, { libraryPatterns: [/\/assets\/app\.js$/] })).toBe(false);
  });

  it('keeps the first N in-app frames, innermost first, without line or column', () => {
    const frames = [
      { filename: '<anonymous>', function: 'Array.forEach' },
      { filename: 'https://a.example/x.js', function: 'one', lineno: 1, colno: 2 },
      { filename: 'node_modules/lib/y.js', function: 'lib' },
      { filename: 'https://a.example/x.js', function: 'two', lineno: 3, colno: 4 },
      { filename: 'https://a.example/x.js', function: 'three' },
    ];
    expect(groupingFrames(frames, 2)).toEqual([
      { function: 'one', file: 'x.js' },
      { function: 'two', file: 'x.js' },
    ]);
  });
});
