import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifySchema } from 'fastify';
import { ERROR_GROUP_SORTS } from '../../enrich/fingerprint/store-groups.js';
import { ErrorBodySchema, SCOPES, responses } from '../schemas.js';

/**
 * Documentation of the internal listener's routes that are registered from other folders (error
 * groups, source maps, OTLP intake, the demo page) and carry no response schemas of their own.
 * Merged into their route schemas when the OpenAPI document is generated, never used to validate
 * or serialise. A test fails when a route is neither documented by its schema nor here, and calls
 * the routes to check their answers match what is written here.
 */

const ErrorGroupSchema = Type.Object({
  fingerprint: Type.String({ description: '16 hex digits, stable across releases.' }),
  tenantId: Type.String(),
  appId: Type.String(),
  type: Type.String(),
  title: Type.String({ description: '`Type: message` of the latest occurrence.' }),
  culprit: Type.Union([Type.String(), Type.Null()], {
    description: 'Top in-app frame, `function (file)`.',
  }),
  firstSeen: Type.Number({ description: 'Receive time, ms since the epoch.' }),
  lastSeen: Type.Number(),
  firstRelease: Type.Union([Type.String(), Type.Null()]),
  lastRelease: Type.Union([Type.String(), Type.Null()]),
  count: Type.Integer(),
  sessions: Type.Integer({
    description: 'Distinct sessions affected (an estimate unless sessionsExact).',
  }),
  sessionsExact: Type.Boolean(),
  lastItemId: Type.Union([Type.Integer(), Type.Null()]),
});

const SourceMapInfoSchema = Type.Object({
  appId: Type.String(),
  bundleId: Type.String(),
  file: Type.String({ description: 'The minified file the map is for (`app.min.js`).' }),
  bytes: Type.Integer({ description: 'Size as uploaded.' }),
  storedBytes: Type.Integer({ description: 'Size as stored (compressed).' }),
  sha256: Type.String(),
  uploadedAt: Type.Number({ description: 'Milliseconds since the epoch.' }),
  uploadedBy: Type.String({ description: 'Name of the token that uploaded it.' }),
});

const sourcemapScopes = ['admin', "tenant:<app's tenant>", 'sourcemaps:<app>'];

const upload = (operationId: string, summary: string): FastifySchema => ({
  operationId,
  summary,
  tags: ['sourcemaps'],
  'x-scopes': sourcemapScopes,
  description:
    'faro-cli and the Faro bundler plugins send `Authorization: Bearer <stackId>:<token>`, where the stack id (optional) must be the tenant id; a plain `Bearer <token>` works too.',
  params: Type.Object({
    appId: Type.String({ description: 'App id.' }),
    bundleId: Type.String({
      description: 'The bundle id the build injected (`meta.app.bundleId`).',
    }),
  }),
  body: {
    content: {
      'application/json': {
        schema: Type.Object(
          {},
          { additionalProperties: true, description: 'One source map (version 3, with `file`).' },
        ),
      },
      'application/gzip': {
        schema: Type.String({
          format: 'binary',
          description: 'A tar.gz of `.map` files (faro-cli -g).',
        }),
      },
    },
  },
  response: responses(
    {
      201: Type.Object(
        { ok: Type.Literal(true), maps: Type.Integer(), bytes: Type.Integer() },
        { description: 'Stored: how many maps, how many bytes.' },
      ),
    },
    [400, 401, 403, 404, 408, 413, 415],
  ),
  security: [{ bearerAuth: [] }],
});

const binary = Type.String({ format: 'binary' });

export const ROUTES_DOCUMENTED_HERE: Readonly<Record<string, FastifySchema>> = {
  'GET /api/v1/apps/:app/errors': {
    operationId: 'listErrorGroups',
    summary: 'Error groups of an app, largest first in the chosen order, paged',
    tags: ['errors'],
    'x-scopes': SCOPES.app,
    params: Type.Object({ app: Type.String({ description: 'App id.' }) }),
    response: responses({
      200: Type.Object(
        {
          groups: Type.Array(ErrorGroupSchema),
          nextCursor: Type.Union([Type.String(), Type.Null()]),
        },
        { description: `Groups, sorted by ${ERROR_GROUP_SORTS.join(', ')} (largest first).` },
      ),
    }),
  },
  'GET /api/v1/apps/:app/errors/:fingerprint': {
    operationId: 'getErrorGroup',
    summary: 'One error group (its occurrences: exceptions?q=<fingerprint>)',
    tags: ['errors'],
    'x-scopes': SCOPES.app,
    response: responses({
      200: Type.Object(ErrorGroupSchema.properties, { description: 'The group.' }),
    }),
  },
  'GET /api/v1/apps/:app/sourcemaps': {
    operationId: 'listSourceMaps',
    summary: 'An app’s source maps, newest first',
    tags: ['sourcemaps'],
    'x-scopes': sourcemapScopes,
    response: responses({
      200: Type.Object(
        { sourcemaps: Type.Array(SourceMapInfoSchema) },
        { description: 'The maps.' },
      ),
    }),
  },
  'DELETE /api/v1/apps/:app/sourcemaps/:bundleId': {
    operationId: 'deleteSourceMapBundle',
    summary: 'Delete a bundle’s source maps',
    tags: ['sourcemaps'],
    'x-scopes': sourcemapScopes,
    response: responses({ 200: deleted() }),
  },
  'DELETE /api/v1/apps/:app/sourcemaps/:bundleId/:file': {
    operationId: 'deleteSourceMap',
    summary: 'Delete the source map of one minified file',
    tags: ['sourcemaps'],
    'x-scopes': sourcemapScopes,
    response: responses({ 200: deleted() }),
  },
  'POST /app/:appId/sourcemaps/:bundleId': upload(
    'uploadSourceMaps',
    'Upload source maps (faro-cli, bundler plugins)',
  ),
  'POST /faro/api/v1/app/:appId/sourcemaps/:bundleId': upload(
    'uploadSourceMapsGrafanaPath',
    'Upload source maps, at the path Grafana Cloud uses',
  ),
  'POST /v1/traces': {
    operationId: 'exportTraces',
    summary: 'OTLP/HTTP trace intake for backend services',
    description:
      'The tenant comes from the token: `tenant:<id>`, or an admin token (or one of several tenants) naming it in `X-Pharos-Tenant`; never from the payload. Gzip and deflate bodies are accepted and capped like the public ingest.',
    tags: ['otlp'],
    'x-scopes': ['tenant:<id>', 'admin (with X-Pharos-Tenant)'],
    headers: Type.Object({
      'x-pharos-tenant': Type.Optional(Type.String({ description: 'The tenant to write for.' })),
    }),
    body: {
      content: {
        'application/x-protobuf': {
          schema: Type.String({ format: 'binary', description: 'An ExportTraceServiceRequest.' }),
        },
        'application/json': {
          schema: Type.Object(
            { resourceSpans: Type.Optional(Type.Array(Type.Unknown())) },
            { additionalProperties: true },
          ),
        },
      },
    },
    response: {
      200: {
        description: 'An empty ExportTraceServiceResponse, in the request’s encoding.',
        content: {
          'application/x-protobuf': { schema: binary },
          'application/json': { schema: Type.Object({}, { additionalProperties: true }) },
        },
      },
      ...responses({}, [400, 401, 403, 404, 408, 413, 415]),
      503: ErrorBodySchema,
    },
  },
  'GET /demo': {
    operationId: 'demoPage',
    summary: 'The demo page: the real Faro Web SDK pointed at the demo app',
    tags: ['demo'],
    'x-scopes': [],
    response: {
      200: { description: 'An HTML page.', content: { 'text/html': { schema: Type.String() } } },
      404: ErrorBodySchema,
    },
  },
  'GET /demo/app.js': {
    operationId: 'demoBundle',
    summary: 'The demo page’s script bundle',
    tags: ['demo'],
    'x-scopes': [],
    response: {
      200: {
        description: 'JavaScript.',
        content: { 'text/javascript': { schema: Type.String() } },
      },
      404: ErrorBodySchema,
    },
  },
  'GET /demo/api/checkout': {
    operationId: 'demoCheckout',
    summary: 'The demo’s traced backend call: echoes the traceparent it received',
    tags: ['demo'],
    'x-scopes': [],
    response: {
      200: Type.Object(
        { ok: Type.Boolean(), traceparent: Type.Union([Type.String(), Type.Null()]) },
        { description: 'What the backend saw.' },
      ),
    },
  },
};

function deleted(): TSchema {
  return Type.Object({ deleted: Type.Integer() }, { description: 'How many maps were deleted.' });
}
