import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceMapStore } from '../../src/enrich/sourcemaps/index.js';
import { T0, type RegistryBackend, type RegistryTestDatabase } from './store-suite.js';

function mapOf(file: string, padding = 0): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: 3,
      file,
      sources: [`src/${file}.ts`],
      names: [],
      mappings: 'AAAA',
      // Random, so that the map does not compress to nothing: above 64 KiB it takes the
      // thread-pool path of zlib.
      x_padding: randomBytes(padding).toString('base64'),
    }),
  );
}

const sha256 = (content: Buffer) => createHash('sha256').update(content).digest('hex');

/**
 * The SourceMapStore's behaviour, run against one backend: the SQLite store and the PostgreSQL
 * one must be interchangeable behind the interface.
 */
export function sourceMapStoreSuite(backend: RegistryBackend): void {
  describe(`source-map store (${backend.name})`, () => {
    let database: RegistryTestDatabase;
    let maps: SourceMapStore;
    let now: number;
    const clock = () => now;

    beforeEach(async () => {
      now = T0;
      database = await backend.create();
      maps = await database.openMaps({ clock });
    });
    afterEach(() => database.dispose());

    it('stores maps and gives back their bytes exactly, with what it knows of them', async () => {
      const small = mapOf('app.min.js');
      const large = mapOf('vendor.min.js', 200_000);
      expect(large.length).toBeGreaterThan(64 * 1024);
      const infos = await maps.put(
        [
          { appId: 'shop', bundleId: 'b1', file: 'app.min.js', content: small },
          { appId: 'shop', bundleId: 'b1', file: 'vendor.min.js', content: large },
        ],
        'ci',
      );
      expect(infos).toEqual([
        {
          appId: 'shop',
          bundleId: 'b1',
          file: 'app.min.js',
          bytes: small.length,
          storedBytes: expect.any(Number) as unknown,
          sha256: sha256(small),
          uploadedAt: T0,
          uploadedBy: 'ci',
        },
        expect.objectContaining({ file: 'vendor.min.js', bytes: large.length }) as unknown,
      ]);
      expect(infos[0]?.storedBytes).toBeLessThan(small.length);
      const appKey = { appId: 'shop', bundleId: 'b1', file: 'app.min.js' };
      expect(await maps.info(appKey)).toEqual(infos[0]);
      expect((await maps.read(appKey))?.equals(small)).toBe(true);
      const vendor = await maps.read({ ...appKey, file: 'vendor.min.js' });
      expect(vendor?.equals(large)).toBe(true);
      expect(await maps.info({ ...appKey, file: 'missing.js' })).toBeUndefined();
      expect(await maps.read({ ...appKey, bundleId: 'b2' })).toBeUndefined();
    });

    it('replaces a map uploaded again under the same key; the last of a batch wins', async () => {
      const key = { appId: 'shop', bundleId: 'b1', file: 'app.min.js' };
      await maps.put([{ ...key, content: mapOf('first') }], 'one');
      now += 1_000;
      const last = mapOf('third');
      await maps.put(
        [
          { ...key, content: mapOf('second') },
          { ...key, content: last },
        ],
        'two',
      );
      expect(await maps.info(key)).toMatchObject({
        sha256: sha256(last),
        uploadedAt: T0 + 1_000,
        uploadedBy: 'two',
      });
      expect((await maps.read(key))?.equals(last)).toBe(true);
      expect(await maps.list('shop')).toHaveLength(1);
    });

    it('lists an app newest first, or one bundle by file', async () => {
      await maps.put(
        [
          { appId: 'shop', bundleId: 'old', file: 'b.js', content: mapOf('b') },
          { appId: 'shop', bundleId: 'old', file: 'a.js', content: mapOf('a') },
        ],
        'ci',
      );
      now += 10;
      await maps.put(
        [
          { appId: 'shop', bundleId: 'new', file: 'z.js', content: mapOf('z') },
          { appId: 'blog', bundleId: 'new', file: 'y.js', content: mapOf('y') },
        ],
        'ci',
      );
      const listed = (list: { bundleId: string; file: string }[]) =>
        list.map((map) => `${map.bundleId}/${map.file}`);
      expect(listed(await maps.list('shop'))).toEqual(['new/z.js', 'old/a.js', 'old/b.js']);
      expect(listed(await maps.list('shop', 'old'))).toEqual(['old/a.js', 'old/b.js']);
      expect(await maps.list('shop', 'none')).toEqual([]);
      expect(await maps.list('nobody')).toEqual([]);
    });

    it('deletes one map or a whole bundle, and says how many', async () => {
      await maps.put(
        ['a.js', 'b.js', 'c.js'].map((file) => ({
          appId: 'shop',
          bundleId: 'b1',
          file,
          content: mapOf(file),
        })),
        'ci',
      );
      await maps.put([{ appId: 'shop', bundleId: 'b2', file: 'a.js', content: mapOf('a') }], 'ci');
      expect(await maps.delete('shop', 'b1', 'a.js')).toBe(1);
      expect(await maps.delete('shop', 'b1', 'a.js')).toBe(0);
      expect(await maps.delete('shop', 'b1')).toBe(2);
      expect(await maps.delete('shop', 'b1')).toBe(0);
      expect((await maps.list('shop')).map((map) => map.bundleId)).toEqual(['b2']);
    });

    it('shares maps with every other store on the same database (replicas)', async () => {
      const other = await database.openMaps({ clock });
      const content = mapOf('shared');
      await maps.put([{ appId: 'shop', bundleId: 'b1', file: 'app.js', content }], 'ci');
      const read = await other.read({ appId: 'shop', bundleId: 'b1', file: 'app.js' });
      expect(read?.equals(content)).toBe(true);
      expect(await other.delete('shop', 'b1')).toBe(1);
      expect(await maps.list('shop')).toEqual([]);
    });
  });
}
