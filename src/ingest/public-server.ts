import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ERRORS, PharosError, errorBody, isPharosError } from '../errors/index.js';
import type { Metrics } from '../metrics/index.js';
import type { CollectPipeline } from '../pipeline/index.js';
import type { CorsPolicy } from './cors.js';
import { CONFIG_ROUTE, configKeyFromPath, type RemoteConfigHandler } from './remote-config.js';

export interface PublicServerDeps {
  pipeline: CollectPipeline;
  cors: CorsPolicy;
  /** `GET /config/:appKey`: the app's client settings for the browser helper. */
  remoteConfig: RemoteConfigHandler;
  metrics: Metrics;
  logger: Logger;
  /** `/-/ready` answers 200 only while this returns true. */
  isReady: () => boolean;
  /** True once shutdown began: answers ask the client to close the connection. */
  isDraining: () => boolean;
  timeouts: { headersMs: number; requestMs: number; keepAliveMs: number };
}

type Route = 'collect' | 'collect_key' | 'config' | 'ready' | 'healthy' | 'unmatched';

const COLLECT = '/collect';
const COLLECT_PREFIX = '/collect/';
/**
 * A body left unread by an early 202 (sampled-out session, duplicate batch) up to this size is
 * drained by Node before the next request on the connection (every keepalive batch of the SDK
 * is at most 60 kB); a larger or undeclared one closes the connection instead.
 */
const DRAIN_UNREAD_BODY_BYTES = 64 * 1024;

/**
 * The public listener: Faro ingest, the browser config and health, on Node's own `http` server.
 * This listener is the hot path and has six routes, so it skips a framework's per-request
 * machinery (the internal listener, with many routes and schemas, uses Fastify). See
 * docs/architecture.md.
 */
export function createPublicServer(deps: PublicServerDeps): Server {
  const { pipeline, cors, metrics, logger } = deps;
  const durationOf = {
    collect: metrics.httpDuration.labels('public', COLLECT),
    collect_key: metrics.httpDuration.labels('public', '/collect/:appKey'),
    config: metrics.httpDuration.labels('public', CONFIG_ROUTE),
    ready: metrics.httpDuration.labels('public', '/-/ready'),
    healthy: metrics.httpDuration.labels('public', '/-/healthy'),
    unmatched: metrics.httpDuration.labels('public', 'unmatched'),
  };
  const routeLabel: Record<Route, string> = {
    collect: COLLECT,
    collect_key: '/collect/:appKey',
    config: CONFIG_ROUTE,
    ready: '/-/ready',
    healthy: '/-/healthy',
    unmatched: 'unmatched',
  };

  function finish(route: Route, started: bigint, status: number, code: string): void {
    // A TalliedCounter: the label set is looked up in a Map, not hashed by prom-client.
    metrics.httpRequests.labels('public', routeLabel[route], String(status), code).inc();
    durationOf[route].observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  function send(
    res: ServerResponse,
    route: Route,
    started: bigint,
    status: number,
    headers: Record<string, string>,
    body = '',
  ): void {
    if (deps.isDraining()) headers.connection = 'close';
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(status, headers);
    res.end(body);
    finish(route, started, status, '');
  }

  function sendError(
    res: ServerResponse,
    route: Route,
    started: bigint,
    error: unknown,
    headers: Record<string, string> = {},
    bodyUnread = false,
  ): void {
    const pharosError = isPharosError(error) ? error : internalError(error, logger);
    const body = JSON.stringify(pharosError.toBody());
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-length'] = String(Buffer.byteLength(body));
    if (pharosError.retryAfterSeconds !== undefined)
      headers['retry-after'] = String(pharosError.retryAfterSeconds);
    // A body we did not read (or stopped reading) would be drained from the socket before the
    // next request could be parsed; closing is cheaper and stops an oversized upload now.
    if (bodyUnread || deps.isDraining()) headers.connection = 'close';
    if (!res.headersSent) {
      res.writeHead(pharosError.statusCode, headers);
      res.end(body);
    }
    finish(route, started, pharosError.statusCode, pharosError.code);
  }

  async function collect(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    pathKey: string | undefined,
    started: bigint,
  ) {
    const origin = req.headers.origin;
    if (req.method === 'OPTIONS') {
      if (origin === undefined) return send(res, route, started, 204, { allow: 'POST, OPTIONS' });
      try {
        const allowed = pipeline.admitPreflight(pathKey, origin);
        return send(res, route, started, 204, cors.preflight(allowed));
      } catch (error) {
        return sendError(res, route, started, error, { vary: 'Origin' });
      }
    }
    if (req.method !== 'POST') {
      return sendError(
        res,
        route,
        started,
        new PharosError(
          'METHOD_NOT_ALLOWED',
          `${req.method} is not allowed on ${routeLabel[route]}; use POST`,
        ),
        { allow: 'POST, OPTIONS' },
        true,
      );
    }

    let corsHeaders: Record<string, string> = {};
    let admitted;
    try {
      admitted = pipeline.admit({
        pathKey,
        headerKey: headerValue(req.headers['x-api-key']),
        origin,
      });
      if (admitted.corsOrigin !== undefined) corsHeaders = cors.response(admitted.corsOrigin);
    } catch (error) {
      return sendError(res, route, started, error, {}, true);
    }
    try {
      const received = await pipeline.receive(admitted, req);
      // Sampled out or duplicate: answered without reading the body. A small one is drained by
      // Node before the next request on this keep-alive connection; a large one is not worth it.
      const keepConnection =
        received.outcome === 'accepted' ||
        req.complete ||
        Number(req.headers['content-length']) <= DRAIN_UNREAD_BODY_BYTES;
      send(
        res,
        route,
        started,
        202,
        keepConnection ? corsHeaders : { ...corsHeaders, connection: 'close' },
      );
    } catch (error) {
      sendError(res, route, started, error, { ...corsHeaders }, !req.complete);
    }
  }

  const server = createServer(
    {
      headersTimeout: deps.timeouts.headersMs,
      // Our own body timer answers 408 first; this is Node's backstop for a stalled connection.
      requestTimeout: deps.timeouts.requestMs + 5000,
      keepAliveTimeout: deps.timeouts.keepAliveMs,
    },
    (req, res) => {
      const started = process.hrtime.bigint();
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const path = query === -1 ? url : url.slice(0, query);

      if (path === COLLECT) return void collect(req, res, 'collect', undefined, started);
      if (
        path.startsWith(COLLECT_PREFIX) &&
        path.length > COLLECT_PREFIX.length &&
        !path.includes('/', COLLECT_PREFIX.length)
      ) {
        return void collect(req, res, 'collect_key', path.slice(COLLECT_PREFIX.length), started);
      }
      const configKey = configKeyFromPath(path);
      if (configKey !== undefined) {
        const answer = deps.remoteConfig.answer({
          method: req.method,
          appKey: configKey,
          origin: req.headers.origin,
          ifNoneMatch: req.headers['if-none-match'],
        });
        if (answer.ok)
          return send(res, 'config', started, answer.status, answer.headers, answer.body);
        // GET and HEAD carry no body; any other method's body is not read.
        const bodyUnread = req.method !== 'GET' && req.method !== 'HEAD';
        return sendError(res, 'config', started, answer.error, answer.headers, bodyUnread);
      }
      if (path === '/-/ready' || path === '/-/healthy') {
        const route: Route = path === '/-/ready' ? 'ready' : 'healthy';
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          return sendError(
            res,
            route,
            started,
            new PharosError(
              'METHOD_NOT_ALLOWED',
              `${req.method} is not allowed on ${path}; use GET`,
            ),
            { allow: 'GET, HEAD' },
            true,
          );
        }
        if (route === 'ready' && !deps.isReady()) {
          return sendError(
            res,
            route,
            started,
            new PharosError('SHUTTING_DOWN', 'not ready', { retryAfterSeconds: 1 }),
          );
        }
        return send(
          res,
          route,
          started,
          200,
          { 'content-type': 'text/plain; charset=utf-8' },
          route === 'ready' ? 'ready' : 'healthy',
        );
      }
      sendError(
        res,
        'unmatched',
        started,
        new PharosError('ROUTE_NOT_FOUND', `no route for ${req.method ?? ''} ${path}`),
        {},
        true,
      );
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Malformed HTTP, header timeouts: answer if the socket still can, never crash.
    if (socket.writable && !socket.destroyed) {
      const status =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT'
          ? 408
          : 400;
      const code = status === 408 ? ERRORS.BODY_TIMEOUT.code : ERRORS.HTTP_MALFORMED.code;
      const body = JSON.stringify(errorBody(status, code, error.message));
      socket.end(
        `HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    } else {
      socket.destroy();
    }
    metrics.httpRequests.labels('public', 'unmatched', '400', ERRORS.HTTP_MALFORMED.code).inc();
  });
  return server;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function internalError(error: unknown, logger: Logger): PharosError {
  logger.error({ err: error }, 'unexpected error while handling an ingest request');
  return new PharosError('INTERNAL', 'internal error; it was logged');
}
