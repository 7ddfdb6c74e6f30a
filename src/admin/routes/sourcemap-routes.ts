import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth.js';
import { PharosError } from '../../errors/index.js';
import type { Registry } from '../../registry/index.js';
import {
  BUNDLE_ID_PATTERN,
  authenticateUpload,
  checkStackId,
  isBundleId,
  readUploadedMaps,
  requireManagedApp,
  type SourceMapStore,
  type UploadLimits,
} from '../../enrich/sourcemaps/index.js';

export interface SourcemapRouteDeps {
  registry: Registry;
  /** `admin.token` from the config (accepted as an admin token), or "". */
  staticAdminToken: string;
  store: SourceMapStore;
  limits: UploadLimits;
  /** Called after a bundle's maps changed, so that this replica stops using what it knew. */
  onChange?: (appId: string, bundleId: string) => void;
}

/**
 * faro-cli builds `{endpoint}/app/{appId}/sourcemaps/{bundleId}`; people set the endpoint to the
 * listener (`http://pharos:12348`) or, copying Grafana Cloud's, to `…/faro/api/v1`. Both work.
 */
export const SOURCEMAP_UPLOAD_ROUTES = [
  '/app/:appId/sourcemaps/:bundleId',
  '/faro/api/v1/app/:appId/sourcemaps/:bundleId',
] as const;

const AppParams = Type.Object({ app: Type.String() });
const BundleParams = Type.Object({
  app: Type.String(),
  bundleId: Type.String({ pattern: BUNDLE_ID_PATTERN }),
});
const FileParams = Type.Object({
  app: Type.String(),
  bundleId: Type.String({ pattern: BUNDLE_ID_PATTERN }),
  file: Type.String({ minLength: 1, maxLength: 255 }),
});
const ListQuery = Type.Object({ bundle: Type.Optional(Type.String()) });

/**
 * Upload (faro-cli, bundler plugins), list and delete of source maps, on the internal listener.
 * Register with `plugins: [(app) => registerSourcemapRoutes(app, deps)]`.
 */
export async function registerSourcemapRoutes(
  app: FastifyInstance,
  deps: SourcemapRouteDeps,
): Promise<void> {
  // Uploads get a scope of their own: the listener's 1 MiB JSON parser must not touch a 30 MB
  // body. The body stays unread until the token and the app are checked.
  await app.register((uploads, _options, done) => {
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    for (const url of SOURCEMAP_UPLOAD_ROUTES) {
      uploads.post<{ Params: { appId: string; bundleId: string } }>(
        url,
        // Authenticated here, not by the listener's hook: the header is `<stackId>:<apiKey>`.
        { config: { public: true } },
        (request, reply) => upload(request, reply, deps),
      );
    }
    done();
  });

  app.get<{ Params: Static<typeof AppParams>; Querystring: Static<typeof ListQuery> }>(
    '/api/v1/apps/:app/sourcemaps',
    { schema: { params: AppParams, querystring: ListQuery } },
    async (request) => {
      await requireManagedApp(principalOf(request).scopes, request.params.app, deps.registry);
      return { sourcemaps: await deps.store.list(request.params.app, request.query.bundle) };
    },
  );

  const remove = async (request: FastifyRequest, app: string, bundleId: string, file?: string) => {
    await requireManagedApp(principalOf(request).scopes, app, deps.registry);
    const deleted = await deps.store.delete(app, bundleId, file);
    if (deleted === 0) {
      throw new PharosError(
        'NOT_FOUND',
        file === undefined
          ? `app ${app} has no source maps for bundle ${bundleId}`
          : `app ${app} has no source map for ${file} in bundle ${bundleId}`,
      );
    }
    deps.onChange?.(app, bundleId);
    return { deleted };
  };
  app.delete<{ Params: Static<typeof BundleParams> }>(
    '/api/v1/apps/:app/sourcemaps/:bundleId',
    { schema: { params: BundleParams } },
    (request) => remove(request, request.params.app, request.params.bundleId),
  );
  app.delete<{ Params: Static<typeof FileParams> }>(
    '/api/v1/apps/:app/sourcemaps/:bundleId/:file',
    { schema: { params: FileParams } },
    (request) => remove(request, request.params.app, request.params.bundleId, request.params.file),
  );
}

async function upload(
  request: FastifyRequest<{ Params: { appId: string; bundleId: string } }>,
  reply: FastifyReply,
  deps: SourcemapRouteDeps,
) {
  try {
    const credentials = await authenticateUpload(
      request.headers.authorization,
      deps.registry,
      deps.staticAdminToken,
    );
    const app = await requireManagedApp(
      credentials.principal.scopes,
      request.params.appId,
      deps.registry,
    );
    checkStackId(credentials.stackId, app);
    const { bundleId } = request.params;
    if (!isBundleId(bundleId)) {
      throw new PharosError(
        'INVALID_REQUEST',
        `bundle id ${JSON.stringify(bundleId.slice(0, 140))} must be 1–128 of A-Z a-z 0-9 . _ -`,
      );
    }
    const maps = await readUploadedMaps(request.raw, deps.limits);
    const stored = await deps.store.put(
      maps.map((map) => ({ appId: app.id, bundleId, file: map.file, content: map.content })),
      credentials.principal.name,
    );
    deps.onChange?.(app.id, bundleId);
    // faro-cli counts any answer containing the word "error" as a failure, so the answer holds no
    // client-chosen text (an app called "error-pages" would do it): numbers and fixed words only.
    return reply
      .status(201)
      .send({ ok: true, maps: stored.length, bytes: stored.reduce((sum, m) => sum + m.bytes, 0) });
  } catch (error) {
    // Refused before the body was read: close the connection rather than drain up to 30 MB.
    if (!request.raw.complete) void reply.header('connection', 'close');
    throw error;
  }
}

function principalOf(request: FastifyRequest): Principal {
  // Set by the listener's authentication hook on every non-public route.
  if (!request.principal) throw new PharosError('UNAUTHORIZED', 'missing token');
  return request.principal;
}
