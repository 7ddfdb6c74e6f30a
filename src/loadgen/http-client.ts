import http from 'node:http';
import https from 'node:https';
import type { GeneratedRequest } from './sessions.js';

/** What became of one request: an HTTP status, or why there was none. */
export type SendResult =
  { readonly status: number } | { readonly status: 0; readonly failure: 'timeout' | 'network' };

export interface HttpSender {
  send(request: GeneratedRequest): Promise<SendResult>;
  close(): void;
}

/**
 * Keep-alive HTTP/1.1 over at most `connections` sockets, as browsers reuse theirs. Answers are
 * drained and discarded; only the status matters. Never rejects.
 */
export function createHttpSender(target: URL, connections: number, timeoutMs: number): HttpSender {
  const secure = target.protocol === 'https:';
  const agentOptions = { keepAlive: true, maxSockets: connections, scheduling: 'fifo' as const };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const request = secure ? https.request : http.request;
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  const port = target.port === '' ? (secure ? 443 : 80) : Number(target.port);
  // A base path on the target (a gateway prefix) goes in front of the collect path.
  const prefix = target.pathname.replace(/\/+$/, '');

  return {
    send(generated) {
      return new Promise<SendResult>((resolve) => {
        let settled = false;
        const settle = (result: SendResult) => {
          if (settled) return;
          settled = true;
          resolve(result);
        };
        const headers = { ...generated.headers, 'content-length': String(generated.body.length) };
        const req = request(
          { agent, hostname, port, method: 'POST', path: prefix + generated.path, headers },
          (res) => {
            res.on('error', () => settle({ status: 0, failure: 'network' }));
            res.on('end', () => settle({ status: res.statusCode ?? 0 }));
            res.resume();
          },
        );
        req.setTimeout(timeoutMs, () => {
          settle({ status: 0, failure: 'timeout' });
          req.destroy();
        });
        req.on('error', () => settle({ status: 0, failure: 'network' }));
        req.end(generated.body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
