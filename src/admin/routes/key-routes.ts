import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PharosError } from '../../errors/index.js';
import { parseDuration } from '../../lib/units.js';
import { actorOf, principalOf, requireApp } from '../access.js';
import {
  AppParams,
  KeyParams,
  KeyRevoked,
  KeysList,
  RotateBody,
  RotateResult,
  SCOPES,
  responses,
} from '../schemas.js';
import { keyView } from '../views.js';
import type { AdminRouteDeps } from './deps.js';

const tags = ['keys'];

/** App keys: list, rotate with a grace period, revoke one at once. */
export function registerKeyRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { registry } = deps;

  app.get<{ Params: Static<typeof AppParams> }>(
    '/api/v1/apps/:app/keys',
    {
      schema: {
        operationId: 'listKeys',
        summary: 'List an app’s keys',
        tags,
        'x-scopes': SCOPES.app,
        params: AppParams,
        response: responses({ 200: KeysList }),
      },
    },
    async (request) => {
      const target = await requireApp(principalOf(request), registry, request.params.app);
      return { keys: (await registry.store.listKeys(target.id)).map(keyView) };
    },
  );

  app.post<{ Params: Static<typeof AppParams>; Body: Static<typeof RotateBody> | undefined }>(
    '/api/v1/apps/:app/keys/rotate',
    {
      schema: {
        operationId: 'rotateKey',
        summary: 'Issue a new key; the previous ones keep working for a grace period',
        tags,
        'x-scopes': SCOPES.app,
        params: AppParams,
        body: RotateBody,
        response: responses({ 201: RotateResult }, [400, 401, 403, 404, 409]),
      },
      // The body is optional (the configured grace applies): validate a missing one as `{}`.
      preValidation: (request, _reply, done) => {
        request.body ??= {};
        done();
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await requireApp(principal, registry, request.params.app);
      const grace = request.body?.grace;
      const graceMs = grace === undefined ? deps.defaultKeyGraceMs : parseDuration(grace);
      if (graceMs === undefined)
        throw new PharosError(
          'INVALID_REQUEST',
          `grace ${JSON.stringify(grace)} is not a duration such as "24h"`,
        );
      const { key, previousKeysExpireAt } = await registry.rotateKey(
        request.params.app,
        graceMs,
        actorOf(principal),
      );
      return reply.status(201).send({
        key: key.key,
        previousKeysExpireAt: new Date(previousKeysExpireAt).toISOString(),
        ingestUrl: `${deps.publicUrl}/collect/${key.key}`,
      });
    },
  );

  app.delete<{ Params: Static<typeof KeyParams> }>(
    '/api/v1/apps/:app/keys/:key',
    {
      schema: {
        operationId: 'revokeKey',
        summary: 'Revoke one key at once (no grace period)',
        tags,
        'x-scopes': SCOPES.app,
        params: KeyParams,
        response: responses({ 200: KeyRevoked }, [400, 401, 403, 404, 409]),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      await requireApp(principal, registry, request.params.app);
      const revoked = await registry.revokeKey(
        request.params.app,
        request.params.key,
        actorOf(principal),
      );
      return {
        revoked: keyView(revoked),
        keys: (await registry.store.listKeys(request.params.app)).map(keyView),
      };
    },
  );
}
