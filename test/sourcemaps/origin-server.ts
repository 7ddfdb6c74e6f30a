import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type {
  ConnectTarget,
  Connector,
  HostResolver,
  ResolvedAddress,
} from '../../src/enrich/sourcemaps/index.js';
import { FIXTURES_DIR } from '../helpers/fixtures.js';
import { fixtureMap } from './harness.js';

export const fixtureScript = (): Buffer =>
  readFileSync(fileURLToPath(new URL('app.min.js', FIXTURES_DIR)));

/**
 * A web server on 127.0.0.1 that plays the app's origin: the fixture bundle and its map, and
 * paths that misbehave (redirects, slowness, size). Counts the hits per path.
 */
export interface OriginServer {
  origin: string;
  port: number;
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startOriginServer(): Promise<OriginServer> {
  const hits = new Map<string, number>();
  const script = fixtureScript();
  const map = fixtureMap();
  const withoutComment = script.subarray(0, script.lastIndexOf('//# sourceMappingURL'));
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    const send = (body: Buffer | string, headers: Record<string, string> = {}) => {
      response.writeHead(200, headers);
      response.end(body);
    };
    switch (url.pathname) {
      case '/dist/app.min.js':
        return send(script, { 'content-type': 'text/javascript' });
      case '/dist/app.min.js.map':
        return send(map, { 'content-type': 'application/json' });
      case '/header/app.min.js':
        // No comment: the SourceMap header names the map (relative to the script).
        return send(withoutComment, { sourcemap: '../dist/app.min.js.map' });
      case '/inline/app.min.js':
        return send(
          Buffer.concat([
            withoutComment,
            Buffer.from(
              `//# sourceMappingURL=data:application/json;charset=utf-8;base64,${map.toString('base64')}\n`,
            ),
          ]),
        );
      case '/elsewhere/app.min.js':
        return send(
          Buffer.concat([
            withoutComment,
            Buffer.from('//# sourceMappingURL=http://cdn.other.test/app.min.js.map'),
          ]),
        );
      case '/no-comment/app.min.js':
        return send(withoutComment);
      case '/redirect': {
        response.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
        return response.end();
      }
      case '/loop':
        response.writeHead(302, { location: '/loop' });
        return response.end();
      case '/slow':
        return undefined; // never answers
      case '/huge': {
        response.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (sent < 8 * 1024 * 1024) {
            sent += chunk.length;
            if (!response.write(chunk)) {
              response.once('drain', pump);
              return;
            }
          }
          response.end();
        };
        return pump();
      }
      default:
        response.writeHead(404);
        return response.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The network of these tests. DNS is a table (no query leaves the machine) and the socket
 * factory THROWS for any address but 127.0.0.1, so even if the guard regressed, nothing could be
 * sent anywhere else. Every call is recorded, so tests can assert a refusal came first.
 */
export function testNetwork(names: Record<string, string[]> = {}) {
  const lookups: string[] = [];
  const connections: ConnectTarget[] = [];
  const resolve: HostResolver = (hostname) => {
    lookups.push(hostname);
    const addresses = names[hostname];
    if (!addresses) return Promise.reject(new Error(`test DNS: ${hostname} is unknown`));
    return Promise.resolve(
      addresses.map((address): ResolvedAddress => ({
        address,
        family: net.isIPv6(address) ? 6 : 4,
      })),
    );
  };
  const connect: Connector = (target) => {
    connections.push(target);
    if (target.address !== '127.0.0.1')
      throw new Error(`test connector: refusing to connect to ${target.address}`);
    return net.connect({ host: target.address, port: target.port });
  };
  return { resolve, connect, lookups, connections };
}
