import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { registerErrorGroupRoutes } from '../../enrich/fingerprint/routes.js';
import { PharosError } from '../../errors/index.js';
import { parseDuration } from '../../lib/units.js';
import type { ItemKind } from '../../model/index.js';
import type { ItemQuery, StoredItem, TelemetryStore } from '../../store/index.js';
import { principalOf, requireApp } from '../access.js';
import { SCOPES, responses } from '../schemas.js';
import type { InternalServerDeps } from '../server.js';

/** URL segment → item kind. */
export const KIND_BY_SEGMENT: Record<string, ItemKind> = {
  logs: 'log',
  exceptions: 'exception',
  measurements: 'measurement',
  events: 'event',
  spans: 'span',
};

const ItemsQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({ description: 'RFC 3339 time or epoch milliseconds (inclusive).' }),
    ),
    to: Type.Optional(
      Type.String({ description: 'RFC 3339 time or epoch milliseconds (exclusive).' }),
    ),
    since: Type.Optional(
      Type.String({ description: 'A duration back from now, e.g. 15m; instead of from.' }),
    ),
    session: Type.Optional(Type.String()),
    trace: Type.Optional(Type.String()),
    name: Type.Optional(
      Type.String({ description: 'Log level, exception or measurement type, event or span name.' }),
    ),
    level: Type.Optional(Type.String()),
    type: Type.Optional(Type.String()),
    q: Type.Optional(Type.String({ minLength: 1, description: 'Text the item must contain.' })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    cursor: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const ItemsParams = Type.Object({
  app: Type.String({ description: 'App id.' }),
  kind: Type.Union(Object.keys(KIND_BY_SEGMENT).map((segment) => Type.Literal(segment))),
});
const TailQuery = Type.Object(
  {
    kinds: Type.Optional(
      Type.String({ description: 'Comma-separated kinds (log,exception,...); default all.' }),
    ),
    after: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Start after this item id instead of now.' }),
    ),
  },
  { additionalProperties: false },
);

export function registerTelemetryRoutes(app: FastifyInstance, deps: InternalServerDeps): void {
  const storeOrFail = (): TelemetryStore => {
    if (!deps.store)
      throw new PharosError('NOT_FOUND', 'the embedded store is turned off (store.enabled: false)');
    return deps.store;
  };
  // Admin, or the app's tenant; anything else gets 403 whether the app exists or not.
  const authorise = (request: FastifyRequest, appId: string) =>
    requireApp(principalOf(request), deps.registry, appId);

  // Registered before `/:kind`; find-my-way prefers the static `errors` segment either way.
  registerErrorGroupRoutes(app, { groups: () => storeOrFail().errorGroups, authorise });

  app.get<{ Params: Static<typeof ItemsParams>; Querystring: Static<typeof ItemsQuery> }>(
    '/api/v1/apps/:app/:kind',
    {
      schema: {
        operationId: 'listItems',
        summary: 'Read stored items of one kind, filtered, paged with a cursor',
        tags: ['telemetry'],
        'x-scopes': SCOPES.app,
        params: ItemsParams,
        querystring: ItemsQuery,
        response: responses({ 200: ItemsPage }),
      },
    },
    async (request) => {
      const store = storeOrFail();
      const target = await authorise(request, request.params.app);
      const query = toItemQuery(
        target.id,
        KIND_BY_SEGMENT[request.params.kind] as ItemKind,
        request.query,
      );
      const page = store.query(query);
      const last = page[page.length - 1];
      return {
        // Items are stored by app id; an app deleted and created again under another tenant
        // must not show what the first one received.
        items: page.filter((item) => item.tenantId === target.tenantId),
        nextCursor: page.length === query.limit && last ? encodeCursor(last) : null,
      };
    },
  );

  app.get<{ Params: { app: string }; Querystring: Static<typeof TailQuery> }>(
    '/api/v1/apps/:app/tail',
    {
      schema: {
        operationId: 'tailItems',
        summary: 'Follow new items as server-sent events (`event: item`, JSON data)',
        tags: ['telemetry'],
        'x-scopes': SCOPES.app,
        params: Type.Object({ app: Type.String({ description: 'App id.' }) }),
        querystring: TailQuery,
        response: {
          200: {
            description:
              'An event stream: `id: <item id>`, `event: item`, `data: <stored item as JSON>`; comments as keep-alives.',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...responses({}, [400, 401, 403, 404]),
        },
      },
    },
    async (request, reply) => {
      const store = storeOrFail();
      const target = await authorise(request, request.params.app);
      const kinds = parseKinds(request.query.kinds);
      let lastId = request.query.after ?? store.lastId();

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': following new items\n\n');

      let pending = false;
      const drain = () => {
        pending = false;
        for (
          let items = store.since(target.id, lastId, 500);
          items.length > 0;
          items = store.since(target.id, lastId, 500)
        ) {
          for (const item of items) {
            lastId = item.id;
            if (item.tenantId !== target.tenantId) continue;
            if (kinds === undefined || kinds.has(item.kind))
              raw.write(`id: ${item.id}\nevent: item\ndata: ${JSON.stringify(item)}\n\n`);
          }
        }
      };
      // Coalesce commits: one read per tick however many writes landed.
      const unsubscribe = store.onCommit(() => {
        if (!pending) {
          pending = true;
          setImmediate(drain);
        }
      });
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
      drain();
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
      });
    },
  );
}

const StoredItemSchema = Type.Object({
  id: Type.Integer(),
  kind: Type.Union(Object.values(KIND_BY_SEGMENT).map((kind) => Type.Literal(kind))),
  tenantId: Type.String(),
  appId: Type.String(),
  time: Type.Number({
    description: 'Item time, ms since the epoch (receive time when it had none).',
  }),
  receivedAt: Type.Number(),
  sessionId: Type.Union([Type.String(), Type.Null()]),
  traceId: Type.Union([Type.String(), Type.Null()]),
  item: Type.Object(
    {},
    { additionalProperties: true, description: 'The item exactly as the SDK sent it.' },
  ),
  meta: Type.Object({}, { additionalProperties: true }),
  resource: Type.Optional(
    Type.Object({}, { additionalProperties: true, description: 'Spans only.' }),
  ),
  scope: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Spans only.' })),
});

const ItemsPage = Type.Object(
  {
    items: Type.Array(StoredItemSchema),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `cursor` for the next page; null: no more.',
    }),
  },
  { description: 'A page of items.' },
);

function toItemQuery(appId: string, kind: ItemKind, query: Static<typeof ItemsQuery>): ItemQuery {
  const since = query.since === undefined ? undefined : parseDuration(query.since);
  if (query.since !== undefined && since === undefined) {
    throw new PharosError(
      'INVALID_REQUEST',
      `since ${JSON.stringify(query.since)} is not a duration such as "15m"`,
    );
  }
  return {
    appId,
    kind,
    from: since !== undefined ? Date.now() - since : parseTime('from', query.from),
    to: parseTime('to', query.to),
    sessionId: query.session,
    traceId: query.trace,
    name: query.name ?? query.level ?? query.type,
    text: query.q,
    order: query.order ?? 'desc',
    cursor: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    limit: query.limit,
  };
}

function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(parsed)) {
    throw new PharosError(
      'INVALID_REQUEST',
      `${name} ${JSON.stringify(value)} is neither an RFC 3339 time nor epoch milliseconds`,
    );
  }
  return parsed;
}

function parseKinds(value: string | undefined): Set<ItemKind> | undefined {
  if (value === undefined || value === '') return undefined;
  const kinds = new Set<ItemKind>();
  for (const part of value.split(',')) {
    const name = part.trim();
    const kind = (KIND_BY_SEGMENT[name] ??
      (Object.values(KIND_BY_SEGMENT).includes(name as ItemKind) ? name : undefined)) as
      ItemKind | undefined;
    if (!kind)
      throw new PharosError(
        'INVALID_REQUEST',
        `kinds: ${JSON.stringify(name)} is not one of log, exception, measurement, event, span`,
      );
    kinds.add(kind);
  }
  return kinds;
}

function encodeCursor(item: StoredItem): string {
  return Buffer.from(`${item.time}:${item.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { time: number; id: number } {
  const match = /^(-?\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new PharosError('INVALID_REQUEST', 'cursor is not one this API returned');
  return { time: Number(match[1]), id: Number(match[2]) };
}
