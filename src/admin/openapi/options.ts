import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifySchema, RouteOptions } from 'fastify';
import { VERSION } from '../../version.js';
import { ROUTES_DOCUMENTED_HERE } from './elsewhere.js';

export const BEARER = 'bearerAuth';

const TAGS = [
  ['tenants', 'Tenants: admin tokens manage them, a tenant token reads its own.'],
  ['apps', 'Apps of a tenant and their settings.'],
  ['keys', 'App keys: public identifiers the Faro SDK sends with.'],
  ['tokens', 'API tokens, stored hashed and shown once.'],
  ['limits', 'Token-bucket limits of tenants and apps.'],
  ['audit', 'Who changed what, and when.'],
  ['telemetry', 'Stored items, read back and followed live.'],
  ['errors', 'Error groups (fingerprints).'],
  ['sourcemaps', 'Source-map upload, list and delete.'],
  ['otlp', 'OTLP/HTTP trace intake for backend services.'],
  ['system', 'Metrics, health and this description.'],
  ['demo', 'The demo page.'],
] as const;

/**
 * @fastify/swagger's options: the document is generated from the routes as registered, so it
 * cannot drift from them. Each operation gets its security (a bearer token unless the route is
 * public) and the documentation of routes registered from other folders.
 */
export function swaggerOptions(): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pharos internal listener',
        version: VERSION,
        description:
          'Admin and read API, OTLP trace intake, source-map upload, metrics and health. Who may call what: docs/api.md.',
      },
      tags: TAGS.map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          [BEARER]: {
            type: 'http',
            scheme: 'bearer',
            description:
              'A Pharos API token (`pha_…`) with scopes `admin`, `tenant:<id>` or `sourcemaps:<app>`, or the configured `admin.token`.',
          },
        },
      },
    },
    transform: ({ schema, url, route }) => ({ url, schema: documented(schema, url, route) }),
  };
}

/** Route schema + documentation from elsewhere + security, for the document only. */
function documented(
  schema: FastifySchema | undefined,
  url: string,
  route: RouteOptions,
): FastifySchema {
  const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
  const extra = ROUTES_DOCUMENTED_HERE[`${method} ${url}`] ?? {};
  const merged: FastifySchema = { ...schema, ...extra };
  const isPublic = route.config?.public === true;
  merged.security ??= isPublic ? [] : [{ [BEARER]: [] }];
  return merged;
}
