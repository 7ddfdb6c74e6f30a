import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVALID_MAP_ERROR } from '../../src/enrich/sourcemaps/index.js';
import { ERRORS } from '../../src/errors/index.js';
import { call, rawUpload, tarArchive } from './http.js';
import {
  FIXTURE_BUNDLE,
  FIXTURE_MAP_SHA256,
  fixtureMap,
  startSourcemapHarness,
  type SourcemapHarness,
} from './harness.js';

const MiB = 1024 * 1024;
/** "Not a source map" (PHAROS_ERR_INVALID_REQUEST until it gets a code of its own). */
const NOT_A_MAP = ERRORS[INVALID_MAP_ERROR].code;
const smallMap = (file?: string) =>
  Buffer.from(
    JSON.stringify({
      version: 3,
      sources: ['a.ts'],
      names: [],
      mappings: 'AAAA',
      ...(file ? { file } : {}),
    }),
  );

describe('source-map upload API: auth, bodies, limits, list and delete', () => {
  let harness: SourcemapHarness;
  const uploadUrl = (app = 'capture-app', bundle = 'b1', prefix = '/faro/api/v1') =>
    `${harness.url}${prefix}/app/${app}/sourcemaps/${bundle}`;
  const upload = (
    body: Buffer | string,
    options: {
      auth?: string;
      type?: string;
      encoding?: string;
      app?: string;
      bundle?: string;
    } = {},
  ) =>
    call(uploadUrl(options.app, options.bundle), 'POST', {
      body,
      headers: {
        'content-type': options.type ?? 'application/json',
        ...(options.encoding ? { 'content-encoding': options.encoding } : {}),
        ...(options.auth === undefined
          ? { authorization: `Bearer capture:${harness.tokens.captureApp}` }
          : options.auth === ''
            ? {}
            : { authorization: options.auth }),
      },
    });

  beforeAll(async () => {
    harness = await startSourcemapHarness();
  });
  afterAll(() => harness.close());

  describe('who may upload', () => {
    it('401 without a token, with a wrong one, or with a wrong one behind a stack id', async () => {
      for (const auth of ['', 'Bearer pha_nope', 'Bearer capture:pha_nope', 'Basic abc']) {
        const answer = await upload(smallMap('a.js'), { auth });
        expect(answer.status, auth).toBe(401);
        expect(answer.body.code).toBe('PHAROS_ERR_UNAUTHORIZED');
        // Refused before the body was read: the connection is not kept to drain it.
        expect(answer.headers.connection).toBe('close');
      }
    });

    it('403 for a token of another app or tenant, and for a stack id that is not the app tenant', async () => {
      const refusals = [
        `Bearer other:${harness.tokens.otherApp}`,
        `Bearer ${harness.tokens.otherTenant}`,
        `Bearer other:${harness.tokens.captureApp}`,
        `Bearer 123456:${harness.tokens.admin}`,
      ];
      for (const auth of refusals) {
        const answer = await upload(smallMap('a.js'), { auth });
        expect(answer.status, auth).toBe(403);
        expect(answer.body.code).toBe('PHAROS_ERR_FORBIDDEN');
      }
      expect(await harness.store.list('capture-app')).toEqual([]);
    });

    it('an unknown app is 404 for an admin and 403 for a token of another app', async () => {
      expect(
        (await upload(smallMap('a.js'), { app: 'nope', auth: `Bearer ${harness.tokens.admin}` }))
          .status,
      ).toBe(404);
      expect((await upload(smallMap('a.js'), { app: 'nope' })).status).toBe(403);
    });

    it('accepts sourcemaps:<app>, tenant:<tenant> and admin tokens, with or without a stack id', async () => {
      const accepted = [
        `Bearer capture:${harness.tokens.captureApp}`,
        `Bearer :${harness.tokens.captureApp}`,
        `Bearer ${harness.tokens.captureApp}`,
        `Bearer capture:${harness.tokens.captureTenant}`,
        `Bearer ${harness.tokens.admin}`,
      ];
      for (const [index, auth] of accepted.entries()) {
        const answer = await upload(smallMap(`f${index}.js`), { auth, bundle: 'auth-ok' });
        expect(answer.status, auth).toBe(201);
      }
      expect((await harness.store.list('capture-app', 'auth-ok')).map((map) => map.file)).toEqual([
        'f0.js',
        'f1.js',
        'f2.js',
        'f3.js',
        'f4.js',
      ]);
    });

    it('answers success with numbers only: faro-cli fails any answer containing "error"', async () => {
      const answer = await upload(smallMap('error.js'), {
        app: 'error-pages',
        bundle: 'error-build',
        auth: `Bearer capture:${harness.tokens.errorPages}`,
      });
      expect(answer.status).toBe(201);
      expect(answer.body).toEqual({ ok: true, maps: 1, bytes: smallMap('error.js').length });
      expect(answer.text.toLowerCase()).not.toContain('error');
    });

    it('serves the bare /app/... path as well as /faro/api/v1/app/...', async () => {
      const answer = await call(uploadUrl('capture-app', 'bare', ''), 'POST', {
        body: smallMap('bare.js'),
        headers: { 'content-type': 'application/json' },
        token: harness.tokens.captureApp,
      });
      expect(answer.status).toBe(201);
    });
  });

  describe('bodies', () => {
    it('stores a gzipped JSON map under its file basename', async () => {
      const answer = await upload(gzipSync(fixtureMap()), { encoding: 'gzip', bundle: 'gz' });
      expect(answer.status).toBe(201);
      expect(await harness.store.list('capture-app', 'gz')).toMatchObject([
        { file: 'app.min.js', bytes: 2039886, sha256: FIXTURE_MAP_SHA256 },
      ]);
    });

    it('takes maps from a tar.gz by entry basename, ignoring other entries', async () => {
      const archive = tarArchive([
        { path: 'build/dist', content: Buffer.alloc(0), type: 'Directory' },
        { path: 'build/dist/vendor.js', content: Buffer.from('not a map') },
        { path: 'build/dist/README.txt', content: Buffer.from('{}') },
        // No `file` property: the entry name minus .map names it.
        { path: '/abs/build/dist/chunk-1.js.map', content: smallMap() },
        { path: 'build/dist/app.min.js.map', content: fixtureMap() },
      ]);
      for (const type of ['application/gzip', 'application/x-gzip']) {
        await harness.store.delete('capture-app', 'tarball').catch(() => 0);
        const answer = await upload(gzipSync(archive), { type, bundle: 'tarball' });
        expect(answer.status, type).toBe(201);
        expect(answer.body.maps).toBe(2);
        expect((await harness.store.list('capture-app', 'tarball')).map((map) => map.file)).toEqual(
          ['app.min.js', 'chunk-1.js'],
        );
      }
    });

    it('400 for what is not a source map', async () => {
      const cases: [string, Buffer | string, string][] = [
        ['not JSON', '{"version": 3,', NOT_A_MAP],
        ['not an object', '[1,2]', NOT_A_MAP],
        [
          'version 2',
          JSON.stringify({ version: 2, file: 'a.js', sources: [], mappings: '' }),
          NOT_A_MAP,
        ],
        ['no mappings', JSON.stringify({ version: 3, file: 'a.js', sources: [] }), NOT_A_MAP],
        ['no sources', JSON.stringify({ version: 3, file: 'a.js', mappings: '' }), NOT_A_MAP],
        ['no file', smallMap(), NOT_A_MAP],
        ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), NOT_A_MAP],
        ['empty', '', 'PHAROS_ERR_BODY_EMPTY'],
      ];
      for (const [what, body, code] of cases) {
        const answer = await upload(body);
        expect(answer.status, what).toBe(400);
        expect(answer.body.code, what).toBe(code);
      }
      const tarWithoutMaps = gzipSync(tarArchive([{ path: 'a.js', content: Buffer.from('x') }]));
      expect((await upload(tarWithoutMaps, { type: 'application/gzip' })).body.message).toContain(
        'no .map file',
      );
      const tarWithBadMap = gzipSync(
        tarArchive([{ path: 'dist/a.js.map', content: Buffer.from('{"version":3}') }]),
      );
      expect((await upload(tarWithBadMap, { type: 'application/gzip' })).body.message).toContain(
        '(dist/a.js.map)',
      );
    });

    it('400 for corrupt gzip, in either form, and for a corrupt tar', async () => {
      const corrupt = Buffer.concat([
        gzipSync(fixtureMap()).subarray(0, 5000),
        Buffer.alloc(100, 7),
      ]);
      const payload = await upload(corrupt, { encoding: 'gzip' });
      expect(payload.status).toBe(400);
      expect(payload.body.code).toBe('PHAROS_ERR_BODY_DECOMPRESSION_FAILED');
      const tarball = await upload(corrupt, { type: 'application/gzip' });
      expect(tarball.status).toBe(400);
      expect(tarball.body.code).toBe('PHAROS_ERR_BODY_DECOMPRESSION_FAILED');
      const notTar = await upload(gzipSync(Buffer.alloc(2048, 1)), { type: 'application/gzip' });
      expect(notTar.status).toBe(400);
      expect(notTar.body.message).toContain('not a valid tar archive');
    });

    it('415 for other media types and encodings; 400 for a bad bundle id', async () => {
      expect((await upload(smallMap('a.js'), { type: 'multipart/form-data' })).status).toBe(415);
      expect((await upload(smallMap('a.js'), { encoding: 'br' })).status).toBe(415);
      const badBundle = await upload(smallMap('a.js'), { bundle: 'a%20b' });
      expect(badBundle.status).toBe(400);
      expect(badBundle.body.code).toBe('PHAROS_ERR_INVALID_REQUEST');
    });
  });

  describe('limits: 30 MiB uncompressed per map and per tarball', () => {
    const headers = () => ({
      authorization: `Bearer capture:${harness.tokens.captureApp}`,
      'content-type': 'application/json',
    });

    it('413 on a declared Content-Length over the cap, before the body is read', async () => {
      const answer = await rawUpload(
        harness.url,
        '/faro/api/v1/app/capture-app/sourcemaps/big',
        { ...headers(), 'content-length': String(30 * MiB + 1) },
        (sent) => (sent < 64 * 1024 ? Buffer.alloc(64 * 1024, 0x20) : undefined),
      );
      expect(answer.status).toBe(413);
      expect(answer.head).toContain('PHAROS_ERR_BODY_TOO_LARGE');
      expect(answer.head).toContain('30 MiB');
      expect(answer.head.toLowerCase()).toContain('connection: close');
    });

    it('413 on a chunked body the moment it passes the cap', async () => {
      // 30 MiB + 1 byte, chunked, and then the client waits: the answer comes without an end.
      const frame = (data: Buffer) =>
        Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
      const chunks = [
        ...Array.from({ length: 30 }, () => frame(Buffer.alloc(MiB, 0x20))),
        frame(Buffer.from(' ')),
      ];
      const answer = await rawUpload(
        harness.url,
        '/faro/api/v1/app/capture-app/sourcemaps/big',
        { ...headers(), 'transfer-encoding': 'chunked' },
        () => chunks.shift(),
      );
      expect(answer.status).toBe(413);
      expect(answer.head).toContain('PHAROS_ERR_BODY_TOO_LARGE');
    });

    it('413 on a gzip bomb (payload or tarball), inflated only up to the cap', async () => {
      const bomb = gzipSync(Buffer.alloc(33 * MiB, 0x20));
      const payload = await upload(bomb, { encoding: 'gzip' });
      expect(payload.status).toBe(413);
      expect(payload.body.code).toBe('PHAROS_ERR_BODY_TOO_LARGE');
      const tarball = await upload(bomb, { type: 'application/gzip' });
      expect(tarball.status).toBe(413);
    });

    it('413 on a map in a tarball over the per-map cap, and on maps over the tarball total', async () => {
      const big = Buffer.alloc(30 * MiB + 1, 0x20);
      const oneTooBig = await upload(gzipSync(tarArchive([{ path: 'a.js.map', content: big }])), {
        type: 'application/gzip',
      });
      expect(oneTooBig.status).toBe(413);
      expect(oneTooBig.body.message).toContain('a.js.map');
      const half = Buffer.alloc(15.5 * MiB, 0x20);
      const together = await upload(
        gzipSync(
          tarArchive([
            { path: 'a.js.map', content: half },
            { path: 'b.js.map', content: half },
          ]),
        ),
        { type: 'application/gzip' },
      );
      expect(together.status).toBe(413);
      expect(together.body.message).toContain('together');
    });
  });

  describe('list and delete', () => {
    it('lists an app maps (per bundle too) for tokens that manage it, and refuses others', async () => {
      await upload(smallMap('x.js'), { bundle: 'listed' });
      await upload(smallMap('y.js'), { bundle: 'listed' });
      const path = `${harness.url}/api/v1/apps/capture-app/sourcemaps?bundle=listed`;
      for (const token of [
        harness.tokens.admin,
        harness.tokens.captureTenant,
        harness.tokens.captureApp,
      ]) {
        const answer = await call(path, 'GET', { token });
        expect(answer.status).toBe(200);
        expect(answer.body.sourcemaps).toMatchObject([
          {
            appId: 'capture-app',
            bundleId: 'listed',
            file: 'x.js',
            bytes: smallMap('x.js').length,
          },
          { appId: 'capture-app', bundleId: 'listed', file: 'y.js' },
        ]);
      }
      expect((await call(path, 'GET', { token: harness.tokens.otherTenant })).status).toBe(403);
      expect((await call(path, 'GET', {})).status).toBe(401);
      const all = await call(`${harness.url}/api/v1/apps/capture-app/sourcemaps`, 'GET', {
        token: harness.tokens.captureApp,
      });
      expect((all.body.sourcemaps as unknown[]).length).toBeGreaterThan(2);
    });

    it('deletes one map, then a whole bundle; 404 when nothing matches', async () => {
      const base = `${harness.url}/api/v1/apps/capture-app/sourcemaps`;
      await upload(smallMap('x.js'), { bundle: 'gone' });
      await upload(smallMap('y.js'), { bundle: 'gone' });
      const token = harness.tokens.captureApp;
      expect(
        (await call(`${base}/gone/x.js`, 'DELETE', { token: harness.tokens.otherApp })).status,
      ).toBe(403);
      expect(await call(`${base}/gone/x.js`, 'DELETE', { token })).toMatchObject({
        status: 200,
        body: { deleted: 1 },
      });
      expect(await call(`${base}/gone`, 'DELETE', { token })).toMatchObject({
        status: 200,
        body: { deleted: 1 },
      });
      expect((await call(`${base}/gone`, 'DELETE', { token })).status).toBe(404);
      expect(await harness.store.list('capture-app', 'gone')).toEqual([]);
      expect(await harness.store.list('capture-app', FIXTURE_BUNDLE)).toEqual([]);
    });
  });
});
