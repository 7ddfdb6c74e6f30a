import type { FastifyInstance } from 'fastify';
import { PharosError } from '../../errors/index.js';
import type { InternalServerDeps } from '../server.js';

export function registerSystemRoutes(app: FastifyInstance, deps: InternalServerDeps): void {
  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
  app.get('/-/healthy', { config: { public: true } }, async (_request, reply) =>
    reply.type('text/plain').send('healthy'),
  );
  app.get('/-/ready', { config: { public: true } }, async (_request, reply) => {
    if (!deps.isReady())
      throw new PharosError('SHUTTING_DOWN', 'not ready', { retryAfterSeconds: 1 });
    return reply.type('text/plain').send('ready');
  });
}
