import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PathRefusedError,
  findLocationFile,
  locationCandidates,
  type SourceMapLocation,
} from './locations.js';
import { MapTooLargeError } from './map-cache.js';

const context = { tenantId: 'shop', appId: 'web', release: 'v1.2.3' };

describe('locationCandidates', () => {
  const locations: SourceMapLocation[] = [
    { path: '/srv/maps/{release}', minifiedPathPrefix: 'https://shop.example/static/' },
    { path: 'https://bucket.example/maps/{release}', minifiedPathPrefix: 'https://shop.example/' },
    { path: '/srv/other', tenant: 'other' },
    { path: '/srv/web-only', app: 'web' },
  ];

  it('strips the prefix and the query, appends .map, fills {release}', () => {
    expect(
      locationCandidates(locations, context, 'https://shop.example/static/js/app.min.js?v=3#x'),
    ).toEqual([
      { kind: 'file', root: '/srv/maps/v1.2.3', file: '/srv/maps/v1.2.3/js/app.min.js.map' },
      { kind: 'url', url: 'https://bucket.example/maps/v1.2.3/static/js/app.min.js.map' },
      {
        kind: 'file',
        root: '/srv/web-only',
        file: '/srv/web-only/https:/shop.example/static/js/app.min.js.map',
      },
    ]);
  });

  it('skips locations of other tenants and apps, and {release} templates without a release', () => {
    const found = locationCandidates(
      locations,
      { tenantId: 'shop', appId: 'api' },
      'https://shop.example/a.js',
    );
    expect(found).toEqual([]);
  });

  it('sanitises the release so it cannot name a path', () => {
    const [candidate] = locationCandidates(
      [{ path: '/srv/maps/{release}' }],
      { ...context, release: '../../etc/x' },
      'a.js',
    );
    expect(candidate).toEqual({
      kind: 'file',
      root: '/srv/maps/etcx',
      file: '/srv/maps/etcx/a.js.map',
    });
  });

  it.each([
    'https://shop.example/static/../../../etc/passwd',
    'https://shop.example/static/%2e%2e/x.js',
    'https://shop.example/static/a%2F..%2Fb.js',
    '../x.js',
    'a/..\\..\\b.js',
  ])('refuses the traversal in %s', (filename) => {
    expect(() =>
      locationCandidates([{ path: '/srv/maps', minifiedPathPrefix: '' }], context, filename),
    ).toThrow(PathRefusedError);
  });

  it('encodes segments into a URL location, so they cannot leave its base', () => {
    const [candidate] = locationCandidates(
      [{ path: 'https://bucket.example/maps' }],
      context,
      'dir/a b?.js',
    );
    expect(candidate).toEqual({ kind: 'url', url: 'https://bucket.example/maps/dir/a%20b.map' });
  });
});

describe('findLocationFile', () => {
  let root: string;
  let outside: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pharos-locations-'));
    outside = mkdtempSync(join(tmpdir(), 'pharos-outside-'));
    mkdirSync(join(root, 'js'));
    writeFileSync(join(root, 'js', 'app.js.map'), '{"version":3}');
    writeFileSync(join(outside, 'secret.map'), 'secret');
    symlinkSync(join(outside, 'secret.map'), join(root, 'js', 'link.js.map'));
    symlinkSync(outside, join(root, 'escape'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('finds a file, with an identity that changes with it', async () => {
    const found = await findLocationFile({ root, file: join(root, 'js', 'app.js.map') }, 1000);
    expect(found?.bytes).toBe(13);
    expect(found?.key).toMatch(/^file:.*app\.js\.map:\d+(\.\d+)?:13$/);
    expect((await found?.read())?.toString()).toBe('{"version":3}');
  });

  it('answers undefined for a missing file', async () => {
    expect(
      await findLocationFile({ root, file: join(root, 'js', 'nope.js.map') }, 1000),
    ).toBeUndefined();
  });

  it('refuses symbolic links that lead outside the directory', async () => {
    await expect(
      findLocationFile({ root, file: join(root, 'js', 'link.js.map') }, 1000),
    ).rejects.toBeInstanceOf(PathRefusedError);
    await expect(
      findLocationFile({ root, file: join(root, 'escape', 'secret.map') }, 1000),
    ).rejects.toBeInstanceOf(PathRefusedError);
  });

  it('refuses a file over the map cap without reading it', async () => {
    await expect(
      findLocationFile({ root, file: join(root, 'js', 'app.js.map') }, 5),
    ).rejects.toBeInstanceOf(MapTooLargeError);
  });
});
