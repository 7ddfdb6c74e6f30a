import fastifySwagger from '@fastify/swagger';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import type { Logger } from 'pino';
import { PharosError, errorBody, isPharosError } from '../errors/index.js';
import type { Metrics } from '../metrics/index.js';
import type { Registry } from '../registry/index.js';
import type { TelemetryStore } from '../store/index.js';
import { createAuthenticator, type Principal } from './auth.js';
import type { LimitDefaults } from './limits.js';
import { swaggerOptions } from './openapi/options.js';
import { registerAppRoutes } from './routes/app-routes.js';
import { registerAuditRoutes } from './routes/audit-routes.js';
import { registerKeyRoutes } from './routes/key-routes.js';
import { registerLimitRoutes } from './routes/limit-routes.js';
import { registerOtlpRoutes, type OtlpRoutesDeps } from './routes/otlp-routes.js';
import { registerSourcemapRoutes, type SourcemapRouteDeps } from './routes/sourcemap-routes.js';
import { registerSystemRoutes } from './routes/system-routes.js';
import { registerTelemetryRoutes } from './routes/telemetry-routes.js';
import { registerTenantRoutes } from './routes/tenant-routes.js';
import { registerTokenRoutes } from './routes/token-routes.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as registered (HEAD included), so that a test can hold the document to them. */
    readonly registeredRoutes: readonly { method: string; url: string }[];
  }
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Routes that answer without a token (metrics, health, the demo page). */
    public?: boolean;
  }
  interface FastifySchema {
    /** Scopes that may call the route, for docs/openapi.json and docs/api.md. */
    'x-scopes'?: readonly string[];
  }
}

export interface InternalServerDeps {
  registry: Registry;
  /** Absent when the embedded store is turned off. */
  store: TelemetryStore | undefined;
  metrics: Metrics;
  logger: Logger;
  staticAdminToken: string;
  isReady: () => boolean;
  /** Extra routes (the demo page) registered by the assembly. */
  plugins?: ((app: FastifyInstance) => void | Promise<void>)[];
  /** Grace period for rotated keys when the request does not say. */
  defaultKeyGraceMs: number;
  /** Where browsers reach the public listener, for ingest URLs in answers. */
  publicUrl: string;
  /** OTLP/HTTP trace intake for backend services (`POST /v1/traces`); absent: not served. */
  otlp?: Omit<OtlpRoutesDeps, 'registry'>;
  /** Source-map upload (faro-cli, bundler plugins), list and delete; absent: not served. */
  sourcemaps?: Omit<SourcemapRouteDeps, 'registry' | 'staticAdminToken'>;
  /** `limits.global|tenant|app` from the config, to show effective limits; absent: none. */
  limitDefaults?: LimitDefaults;
}

/**
 * The internal listener: admin and read API under /api/v1, /metrics, health, the demo page.
 * Fastify fits here: many routes, JSON schemas, hooks; none of it on the ingest hot path.
 */
export async function createInternalServer(deps: InternalServerDeps): Promise<FastifyInstance> {
  // Typed as Fastify's logger so the instance gets Fastify's default generics.
  const logger: FastifyBaseLogger = deps.logger.child({ listener: 'internal' });
  const app: FastifyInstance = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // The read API caps its own page sizes; the body of admin calls is small.
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  });
  const registeredRoutes: { method: string; url: string }[] = [];
  app.decorate('registeredRoutes', registeredRoutes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) registeredRoutes.push({ method, url: route.url });
  });
  // Before any route: it collects them into docs/openapi.json (and /openapi.json).
  await app.register(fastifySwagger, swaggerOptions());
  const authenticator = createAuthenticator({
    registry: deps.registry,
    staticToken: deps.staticAdminToken,
  });

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public === true || request.routeOptions.url === undefined)
      return;
    request.principal = await authenticator.authenticate(request);
  });

  app.addHook('onResponse', async (request, reply) => {
    const code = (reply.getHeader('x-pharos-error-code') as string | undefined) ?? '';
    deps.metrics.httpRequests
      .labels('internal', request.routeOptions.url ?? 'unmatched', String(reply.statusCode), code)
      .inc();
    deps.metrics.httpDuration
      .labels('internal', request.routeOptions.url ?? 'unmatched')
      .observe(reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError | PharosError, request, reply) => {
    let pharosError: PharosError;
    if (isPharosError(error)) {
      pharosError = error;
    } else if (error.validation) {
      pharosError = new PharosError(
        'INVALID_REQUEST',
        `${error.validationContext ?? 'request'}${error.message.replace(/^[a-z]+\/?/i, '')}`,
      );
    } else if (error.statusCode !== undefined && error.statusCode < 500) {
      pharosError = new PharosError('INVALID_REQUEST', error.message);
    } else {
      request.log.error({ err: error, url: request.url }, 'internal listener error');
      pharosError = new PharosError(
        'INTERNAL',
        `internal error (request ${request.id}); it was logged`,
      );
    }
    if (pharosError.retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(pharosError.retryAfterSeconds));
    void reply
      .header('x-pharos-error-code', pharosError.code)
      .status(pharosError.statusCode)
      .send(pharosError.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const body = errorBody(
      404,
      'PHAROS_ERR_ROUTE_NOT_FOUND',
      `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`,
    );
    void reply.header('x-pharos-error-code', body.code).status(404).send(body);
  });

  const routeDeps = { ...deps, forgetTokens: () => authenticator.forget() };
  registerSystemRoutes(app, deps);
  registerTenantRoutes(app, routeDeps);
  registerAppRoutes(app, routeDeps);
  registerKeyRoutes(app, routeDeps);
  registerTokenRoutes(app, routeDeps);
  registerLimitRoutes(app, routeDeps);
  registerAuditRoutes(app, routeDeps);
  registerTelemetryRoutes(app, deps);
  if (deps.otlp) await registerOtlpRoutes(app, { registry: deps.registry, ...deps.otlp });
  if (deps.sourcemaps) {
    await registerSourcemapRoutes(app, {
      registry: deps.registry,
      staticAdminToken: deps.staticAdminToken,
      ...deps.sourcemaps,
    });
  }
  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
