import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PharosError } from '../../errors/index.js';
import { ErrorBodySchema } from '../schemas.js';
import type { InternalServerDeps } from '../server.js';

const tags = ['system'];
const publicRoute = { public: true } as const;
const text = (description: string) => ({
  description,
  content: { 'text/plain': { schema: Type.String() } },
});

/** Metrics, health and this API's own description: no token needed. */
export function registerSystemRoutes(app: FastifyInstance, deps: InternalServerDeps): void {
  app.get(
    '/metrics',
    {
      config: publicRoute,
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format)',
        tags,
        'x-scopes': [],
        response: { 200: text('Prometheus text format 0.0.4.') },
      },
    },
    async (_request, reply) =>
      // Streamed: at 10,000 apps the text is ~20 MiB (docs/performance.md, finding 30).
      reply.type(deps.metrics.registry.contentType).send(Readable.from(deps.metrics.exposition())),
  );
  app.get(
    '/-/healthy',
    {
      config: publicRoute,
      schema: {
        operationId: 'healthy',
        summary: 'Liveness: the process answers',
        tags,
        'x-scopes': [],
        response: { 200: text('`healthy`.') },
      },
    },
    async (_request, reply) => reply.type('text/plain').send('healthy'),
  );
  app.get(
    '/-/ready',
    {
      config: publicRoute,
      schema: {
        operationId: 'ready',
        summary: 'Readiness: 503 while starting or shutting down',
        tags,
        'x-scopes': [],
        response: { 200: text('`ready`.'), 503: ErrorBodySchema },
      },
    },
    async (_request, reply) => {
      if (!deps.isReady())
        throw new PharosError('SHUTTING_DOWN', 'not ready', { retryAfterSeconds: 1 });
      return reply.type('text/plain').send('ready');
    },
  );
  app.get(
    '/openapi.json',
    {
      config: publicRoute,
      schema: {
        operationId: 'openapi',
        summary: 'This document: the OpenAPI 3.1 description of the internal listener',
        tags,
        'x-scopes': [],
        response: {
          200: Type.Object(
            {},
            { additionalProperties: true, description: 'An OpenAPI 3.1 document.' },
          ),
        },
      },
    },
    () => app.swagger(),
  );
}
