import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyResolver } from '../../src/admission/index.js';
import { isPharosError } from '../../src/errors/index.js';
import {
  configKeyFromPath,
  createRemoteConfigHandler,
  type ConfigAnswer,
} from '../../src/ingest/remote-config.js';
import { startHttpServer, type HttpServer } from '../browser/helpers.js';

/**
 * Serves `GET /config/:appKey` exactly as the integration diff wires it into the public
 * listener (src/ingest/public-server.ts: `send` for answers, `sendError` for errors), plus
 * optional extra routes. Once the lead has wired it, tests can use a real Pharos instead.
 */
export interface ConfigServerOptions {
  keys: KeyResolver;
  /** Handles any other request; default 404. */
  other?: (request: IncomingMessage, response: ServerResponse) => void;
  /** Runs before a config answer (a slow or dead config endpoint, in browser tests). */
  beforeConfig?: (request: IncomingMessage, response: ServerResponse) => Promise<boolean> | boolean;
}

export function writeConfigAnswer(response: ServerResponse, answer: ConfigAnswer): void {
  if (answer.ok) {
    const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) };
    response.writeHead(answer.status, headers);
    response.end(answer.body);
    return;
  }
  const { error } = answer;
  const body = JSON.stringify(isPharosError(error) ? error.toBody() : {});
  response.writeHead(error.statusCode, {
    ...answer.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  });
  response.end(body);
}

export function startConfigServer(options: ConfigServerOptions): Promise<HttpServer> {
  const handler = createRemoteConfigHandler(options.keys);
  return startHttpServer((request, response) => {
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const appKey = configKeyFromPath(path);
    if (appKey === undefined) {
      if (options.other) return options.other(request, response);
      response.writeHead(404).end();
      return;
    }
    void (async () => {
      if (options.beforeConfig && !(await options.beforeConfig(request, response))) return;
      const ifNoneMatch = request.headers['if-none-match'];
      writeConfigAnswer(
        response,
        handler.answer({
          method: request.method,
          appKey,
          origin: request.headers.origin,
          ifNoneMatch,
        }),
      );
    })();
  });
}
