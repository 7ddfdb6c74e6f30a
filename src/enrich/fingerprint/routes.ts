import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PharosError } from '../../errors/index.js';
import { parseDuration } from '../../lib/units.js';
import {
  ERROR_GROUP_SORTS,
  sortValueOf,
  type ErrorGroup,
  type ErrorGroupSort,
  type ErrorGroupStore,
} from './store-groups.js';

export interface ErrorGroupRouteDeps {
  /** The store's error groups; throws (404) when the embedded store is turned off. */
  groups: () => ErrorGroupStore;
  /** Checks the caller may read the app; resolves to the app. Throws 403/404 otherwise. */
  authorise: (request: FastifyRequest, appId: string) => Promise<{ id: string; tenantId: string }>;
}

const ErrorsQuery = Type.Object(
  {
    sort: Type.Optional(
      Type.Union(
        ERROR_GROUP_SORTS.map((sort) => Type.Literal(sort)),
        { description: 'Largest first: lastSeen (default), count or sessions.' },
      ),
    ),
    since: Type.Optional(
      Type.String({ description: 'Only groups seen within this duration, e.g. 24h.' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    cursor: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const GroupParams = Type.Object({ app: Type.String(), fingerprint: Type.String() });

/**
 * `GET /api/v1/apps/:app/errors`: the app's error groups (fingerprint, title, culprit, first and
 * last seen, count, sessions), largest first in the chosen order, paged with a cursor.
 * `GET /api/v1/apps/:app/errors/:fingerprint`: one group. Its occurrences are the app's
 * exceptions containing the fingerprint: `GET /api/v1/apps/:app/exceptions?q=<fingerprint>`.
 */
export function registerErrorGroupRoutes(app: FastifyInstance, deps: ErrorGroupRouteDeps): void {
  app.get<{ Params: { app: string }; Querystring: Static<typeof ErrorsQuery> }>(
    '/api/v1/apps/:app/errors',
    { schema: { querystring: ErrorsQuery } },
    async (request) => {
      const groups = deps.groups();
      const target = await deps.authorise(request, request.params.app);
      const sort: ErrorGroupSort = request.query.sort ?? 'lastSeen';
      const since = parseSince(request.query.since);
      const list = groups.list({
        appId: target.id,
        sort,
        since: since === undefined ? undefined : Date.now() - since,
        cursor: request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor),
        limit: request.query.limit,
      });
      const last = list[list.length - 1];
      return {
        // Groups are stored by app id: an app deleted and created again under another tenant
        // must not show the first one's groups.
        groups: list.filter((group) => group.tenantId === target.tenantId),
        nextCursor: list.length === request.query.limit && last ? encodeCursor(last, sort) : null,
      };
    },
  );

  app.get<{ Params: Static<typeof GroupParams> }>(
    '/api/v1/apps/:app/errors/:fingerprint',
    { schema: { params: GroupParams } },
    async (request): Promise<ErrorGroup> => {
      const groups = deps.groups();
      const target = await deps.authorise(request, request.params.app);
      const group = groups.get(target.id, request.params.fingerprint);
      if (!group || group.tenantId !== target.tenantId) {
        throw new PharosError(
          'NOT_FOUND',
          `app ${target.id} has no error group ${request.params.fingerprint}`,
        );
      }
      return group;
    },
  );
}

function parseSince(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = parseDuration(value);
  if (parsed === undefined) {
    throw new PharosError(
      'INVALID_REQUEST',
      `since ${JSON.stringify(value)} is not a duration such as "24h"`,
    );
  }
  return parsed;
}

function encodeCursor(group: ErrorGroup, sort: ErrorGroupSort): string {
  return Buffer.from(`${sortValueOf(group, sort)}:${group.fingerprint}`).toString('base64url');
}

function decodeCursor(cursor: string): { value: number; fingerprint: string } {
  const match = /^(-?\d+):([0-9a-f]{16})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new PharosError('INVALID_REQUEST', 'cursor is not one this API returned');
  return { value: Number(match[1]), fingerprint: match[2] as string };
}
