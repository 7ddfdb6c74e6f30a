import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { Registry as PromRegistry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  SafeDownloader,
  createSourcemapSymbolication,
  openSqliteSourceMapStore,
  type DownloadOptions,
  type FrameContext,
  type SourceMapStore,
} from '../../src/enrich/sourcemaps/index.js';
import { fixtureMap } from './harness.js';
import { startOriginServer, testNetwork, type OriginServer } from './origin-server.js';

const context: FrameContext = { tenantId: 'capture', appId: 'capture-app', release: 'r42' };
/** A frame of the fixture bundle (the pushError throw), at some file URL. */
const FRAME = { line: 32, column: 1102 };

describe('downloads of scripts and maps: SSRF guard, limits, allow-list', () => {
  let origin: OriginServer;
  let dataDir: string;
  let store: SourceMapStore;

  beforeAll(async () => {
    origin = await startOriginServer();
    dataDir = mkdtempSync(join(tmpdir(), 'pharos-downloads-'));
    store = openSqliteSourceMapStore(join(dataDir, 'maps.db'));
  });
  afterAll(async () => {
    await origin.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => origin.hits.clear());

  /** Symbolication whose only way out is the test network; origins `*` unless told otherwise. */
  function setup(download: Partial<DownloadOptions> = {}, names: Record<string, string[]> = {}) {
    const network = testNetwork(names);
    const sourcemaps = createSourcemapSymbolication({
      store,
      metricsRegistry: new PromRegistry(),
      download: {
        origins: () => ['*'],
        timeoutMs: 1000,
        resolve: network.resolve,
        connect: network.connect,
        ...download,
      },
    });
    const lookup = (filename: string) =>
      Promise.resolve(sourcemaps.resolver.lookup(context, filename));
    return { ...network, sourcemaps, lookup };
  }

  describe('refused before any connection', () => {
    const literals = [
      ['loopback', 'http://127.0.0.1:PORT/dist/app.min.js'],
      ['other loopback', 'http://127.0.0.2/app.js'],
      ['IPv6 loopback', 'http://[::1]:PORT/app.js'],
      ['loopback as a decimal number', 'http://2130706433/app.js'],
      ['loopback in hex', 'http://0x7f.0.0.1/app.js'],
      ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/app.js'],
      ['10/8', 'http://10.1.2.3/app.js'],
      ['172.16/12 (low end)', 'http://172.16.0.1/app.js'],
      ['172.16/12 (high end)', 'https://172.31.255.254/app.js'],
      ['192.168/16', 'http://192.168.1.10/app.js'],
      ['fc00::/7', 'http://[fd12:3456::1]/app.js'],
      ['fc00::/7 (fc)', 'http://[fc00::1]/app.js'],
      ['link-local', 'http://169.254.10.20/app.js'],
      ['IPv6 link-local', 'http://[fe80::1]/app.js'],
      ['cloud metadata', 'http://169.254.169.254/latest/meta-data/app.js'],
      ['AWS IPv6 metadata', 'http://[fd00:ec2::254]/app.js'],
      ['Alibaba metadata', 'http://100.100.100.200/app.js'],
      ['unspecified', 'http://0.0.0.0:PORT/app.js'],
      ['IPv6 unspecified', 'http://[::]/app.js'],
      ['multicast', 'http://224.0.0.251/app.js'],
      ['IPv6 multicast', 'http://[ff02::1]/app.js'],
      ['carrier-grade NAT', 'http://100.64.0.1/app.js'],
      ['NAT64 of a private address', 'http://[64:ff9b::a00:1]/app.js'],
      ['IPv4-mapped private', 'http://[::ffff:10.0.0.1]/app.js'],
    ];

    it.each(literals)('%s: %s', async (_name, template) => {
      // The default guard (no test allowance): even 127.0.0.1 is refused.
      const net = setup({ allowLoopbackForTests: false });
      const result = await net.lookup(template.replace('PORT', String(origin.port)));
      expect(result).toEqual({ failure: 'download_refused' });
      expect(net.connections).toEqual([]);
      expect(net.lookups).toEqual([]);
    });

    it('a hostname that resolves to loopback, even with the test allowance (it is for the literal 127.0.0.1 only)', async () => {
      for (const allowLoopbackForTests of [false, true]) {
        const net = setup({ allowLoopbackForTests }, { 'localhost.test': ['127.0.0.1'] });
        const result = await net.lookup(`http://localhost.test:${origin.port}/dist/app.min.js`);
        expect(result).toEqual({ failure: 'download_refused' });
        expect(net.lookups).toEqual(['localhost.test']);
        expect(net.connections).toEqual([]);
      }
    });

    it('a hostname with one private address among public ones', async () => {
      const net = setup({}, { 'mixed.test': ['93.184.215.14', '10.0.0.7'] });
      expect(await net.lookup('https://mixed.test/app.js')).toEqual({
        failure: 'download_refused',
      });
      expect(net.connections).toEqual([]);
    });

    const redirects = [
      ['127.0.0.2', 'http://127.0.0.2:PORT/dist/app.min.js'],
      ['::1', 'http://[::1]:PORT/dist/app.min.js'],
      ['a name resolving to loopback', 'http://localhost.test:PORT/dist/app.min.js'],
      ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
      ['10/8', 'http://10.0.0.1/app.js'],
    ];
    it.each(redirects)('a redirect to %s', async (_name, target) => {
      const net = setup({ allowLoopbackForTests: true }, { 'localhost.test': ['127.0.0.1'] });
      const to = encodeURIComponent(target.replace('PORT', String(origin.port)));
      const result = await net.lookup(`${origin.origin}/redirect?to=${to}`);
      expect(result).toEqual({ failure: 'download_refused' });
      // Only the first hop (the allowed 127.0.0.1 literal) was connected to.
      expect(net.connections.map((c) => c.address)).toEqual(['127.0.0.1']);
      expect(origin.hits.get('/redirect')).toBe(1);
    });

    it('origins not on the allow-list are not downloaded at all', async () => {
      for (const origins of [[], ['https://cdn.example.com'], ['http://127.0.0.1:1']]) {
        const net = setup({ allowLoopbackForTests: true, origins: () => origins });
        expect(await net.lookup(`${origin.origin}/dist/app.min.js`)).toEqual({ failure: 'no_map' });
        expect(net.connections).toEqual([]);
      }
    });

    it('a map URL outside the allow-list is refused (the script was allowed)', async () => {
      const net = setup(
        { allowLoopbackForTests: true, origins: () => [origin.origin] },
        { 'cdn.other.test': ['93.184.215.14'] },
      );
      expect(await net.lookup(`${origin.origin}/elsewhere/app.min.js`)).toEqual({
        failure: 'download_refused',
      });
      expect(net.lookups).toEqual([]);
      expect(net.connections.map((c) => c.address)).toEqual(['127.0.0.1']);
    });
  });

  describe('the checked address is the one connected to', () => {
    it('a public hostname: one lookup, then a connection to exactly that address with its TLS name', async () => {
      const net = setup({}, { 'cdn.example.test': ['93.184.215.14'] });
      // The test connector refuses anything but 127.0.0.1, so this fails after the connect attempt.
      expect(await net.lookup('https://cdn.example.test/static/app.js')).toEqual({
        failure: 'download_failed',
      });
      expect(net.lookups).toEqual(['cdn.example.test']);
      expect(net.connections).toEqual([
        {
          address: '93.184.215.14',
          family: 4,
          port: 443,
          tls: true,
          servername: 'cdn.example.test',
        },
      ]);
    });
  });

  describe('allowed downloads (127.0.0.1, allowed explicitly for tests)', () => {
    const reference = (mapUrl: string) =>
      new TraceMap(JSON.parse(fixtureMap().toString('utf8')) as never, mapUrl);

    async function expectResolvesLikeTraceMapping(scriptPath: string, mapUrl: string) {
      const net = setup({ allowLoopbackForTests: true, origins: () => [origin.origin] });
      const result = await net.lookup(`${origin.origin}${scriptPath}`);
      if (!('map' in result)) throw new Error(`not resolved: ${result.failure}`);
      const truth = originalPositionFor(reference(mapUrl), {
        line: FRAME.line,
        column: FRAME.column - 1,
      });
      expect(truth.source).toBe(`${origin.origin}/page/app.js`);
      expect(
        originalPositionFor(result.map, { line: FRAME.line, column: FRAME.column - 1 }),
      ).toEqual(truth);
      return net;
    }

    it('finds the map by the last-line sourceMappingURL comment, relative to the script', async () => {
      const net = await expectResolvesLikeTraceMapping(
        '/dist/app.min.js',
        `${origin.origin}/dist/app.min.js.map`,
      );
      expect(net.connections.every((c) => c.address === '127.0.0.1')).toBe(true);
      expect(origin.hits.get('/dist/app.min.js.map')).toBe(1);
    });

    it('finds the map by the SourceMap response header', async () => {
      await expectResolvesLikeTraceMapping(
        '/header/app.min.js',
        `${origin.origin}/dist/app.min.js.map`,
      );
    });

    it('reads an inline data: map', async () => {
      await expectResolvesLikeTraceMapping(
        '/inline/app.min.js',
        `${origin.origin}/inline/app.min.js`,
      );
      expect(origin.hits.get('/dist/app.min.js.map')).toBeUndefined();
    });

    it('follows a redirect to an allowed URL', async () => {
      const to = encodeURIComponent(`${origin.origin}/dist/app.min.js`);
      await expectResolvesLikeTraceMapping(
        `/redirect?to=${to}`,
        `${origin.origin}/dist/app.min.js.map`,
      );
    });

    it('a script without a map reference: no_map', async () => {
      const net = setup({ allowLoopbackForTests: true });
      expect(await net.lookup(`${origin.origin}/no-comment/app.min.js`)).toEqual({
        failure: 'no_map',
      });
    });
  });

  describe('limits, coalescing, remembered failures', () => {
    const downloader = (options: { timeoutMs?: number; clock?: () => number } = {}) => {
      const net = testNetwork();
      return {
        net,
        downloader: new SafeDownloader({
          timeoutMs: options.timeoutMs ?? 1000,
          maxRedirects: 3,
          failureTtlMs: 60_000,
          allowLoopbackForTests: true,
          resolve: net.resolve,
          connect: net.connect,
          ...(options.clock ? { clock: options.clock } : {}),
        }),
      };
    };
    const get = (d: SafeDownloader, path: string, maxBytes = 1024 * 1024) =>
      d.get({ url: `${origin.origin}${path}`, maxBytes, isAllowedUrl: () => true, scope: 'test' });

    it('gives up after the time cap', async () => {
      const { downloader: d } = downloader({ timeoutMs: 150 });
      const started = Date.now();
      await expect(get(d, '/slow')).rejects.toMatchObject({ kind: 'failed', message: /timed out/ });
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('stops reading at the size cap', async () => {
      const { downloader: d } = downloader();
      await expect(get(d, '/huge', 1024 * 1024)).rejects.toMatchObject({ kind: 'too_large' });
    });

    it('a script over its cap is a failed download; a map over its cap is too large', async () => {
      const script = `${origin.origin}/dist/app.min.js`;
      const network = testNetwork();
      const make = (limits: { maxScriptBytes?: number; maxMapBytes?: number }) =>
        createSourcemapSymbolication({
          store,
          metricsRegistry: new PromRegistry(),
          ...limits,
          download: { origins: () => ['*'], allowLoopbackForTests: true, ...network },
        }).resolver;
      expect(await make({ maxScriptBytes: 100_000 }).lookup(context, script)).toEqual({
        failure: 'download_failed',
      });
      expect(await make({ maxMapBytes: 100_000 }).lookup(context, script)).toEqual({
        failure: 'map_too_large',
      });
    });

    it('follows at most 3 redirects', async () => {
      const { downloader: d } = downloader();
      await expect(get(d, '/loop')).rejects.toMatchObject({ kind: 'failed', message: /redirects/ });
      expect(origin.hits.get('/loop')).toBe(4);
    });

    it('runs at most maxConcurrentDownloads at once; more fail at once and are not remembered', async () => {
      const net = testNetwork();
      const d = new SafeDownloader({
        timeoutMs: 300,
        maxRedirects: 3,
        failureTtlMs: 60_000,
        maxConcurrentDownloads: 2,
        allowLoopbackForTests: true,
        resolve: net.resolve,
        connect: net.connect,
      });
      const slow = [get(d, '/slow?1'), get(d, '/slow?2')];
      await expect(get(d, '/dist/app.min.js')).rejects.toMatchObject({
        kind: 'failed',
        message: /2 downloads already in progress/,
      });
      await Promise.allSettled(slow);
      await expect(get(d, '/dist/app.min.js', 4 * 1024 * 1024)).resolves.toHaveProperty('body');
    });

    it('coalesces concurrent downloads of one URL', async () => {
      const { downloader: d } = downloader();
      const all = await Promise.all(
        Array.from({ length: 20 }, () => get(d, '/dist/app.min.js.map', 4 * 1024 * 1024)),
      );
      expect(new Set(all).size).toBe(1);
      expect(origin.hits.get('/dist/app.min.js.map')).toBe(1);
    });

    it('remembers a failure for its TTL, then tries again', async () => {
      let now = 1_000_000;
      const { downloader: d } = downloader({ clock: () => now });
      await expect(get(d, '/missing.js')).rejects.toMatchObject({ kind: 'failed', status: 404 });
      await expect(get(d, '/missing.js')).rejects.toMatchObject({ status: 404 });
      expect(origin.hits.get('/missing.js')).toBe(1);
      now += 60_001;
      await expect(get(d, '/missing.js')).rejects.toMatchObject({ status: 404 });
      expect(origin.hits.get('/missing.js')).toBe(2);
    });
  });
});
