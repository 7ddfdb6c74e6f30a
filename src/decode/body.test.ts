import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { isPharosError } from '../errors/index.js';
import { readBody, type ContentEncoding } from './body.js';

/**
 * `readBody` on real sockets: a body already complete when it is asked for (the usual case, taken
 * from the stream's buffer at once) and one still arriving (read as it comes) give the same bytes
 * and the same refusals.
 */
describe('readBody', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** Starts a server that waits `delayMs` before reading, and answers what readBody gave. */
  async function serve(delayMs: number, maxBytes = 1024): Promise<number> {
    server = createServer((req, res) => {
      const encoding = (req.headers['content-encoding'] ?? 'identity') as ContentEncoding;
      setTimeout(() => {
        const complete = req.complete;
        readBody(req, encoding, { maxBytes, timeoutMs: 2000 }).then(
          ({ body, wireBytes }) => {
            res.end(JSON.stringify({ body: body.toString('utf8'), wireBytes, complete }));
          },
          (error: unknown) => {
            res.statusCode = isPharosError(error) ? error.statusCode : 500;
            res.end(JSON.stringify({ code: isPharosError(error) ? error.code : String(error) }));
          },
        );
      }, delayMs);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** Sends `parts` with a pause between them; resolves with the status and the parsed answer. */
  function send(
    port: number,
    parts: Buffer[],
    headers: Record<string, string> = {},
  ): Promise<{ status: number; answer: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const length = parts.reduce((sum, part) => sum + part.length, 0);
      const req = request(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          headers: { 'content-length': String(length), ...headers },
        },
        (res: IncomingMessage) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              answer: JSON.parse(text) as Record<string, unknown>,
            }),
          );
        },
      );
      req.on('error', reject);
      let index = 0;
      const next = () => {
        const part = parts[index++];
        if (part === undefined) return void req.end();
        req.write(part);
        setTimeout(next, 60);
      };
      next();
    });
  }

  it('takes a body that has fully arrived from the buffer', async () => {
    const port = await serve(50);
    const { status, answer } = await send(port, [Buffer.from('{"logs":[1,2,3]}')]);
    expect(status).toBe(200);
    expect(answer).toEqual({ body: '{"logs":[1,2,3]}', wireBytes: 16, complete: true });
  });

  it('reads a body still arriving, in parts', async () => {
    const port = await serve(0);
    const { status, answer } = await send(port, [Buffer.from('{"logs":'), Buffer.from('[1]}')]);
    expect(status).toBe(200);
    expect(answer).toEqual({ body: '{"logs":[1]}', wireBytes: 12, complete: false });
  });

  it('inflates a complete gzip body', async () => {
    const port = await serve(50);
    const wire = gzipSync('{"events":[]}');
    const { answer } = await send(port, [wire], { 'content-encoding': 'gzip' });
    expect(answer).toEqual({ body: '{"events":[]}', wireBytes: wire.length, complete: true });
  });

  it('refuses a body over the limit, complete or arriving', async () => {
    const big = Buffer.alloc(2000, 'a');
    const complete = await send(await serve(50), [big]);
    expect(complete.status).toBe(413);
    expect(complete.answer.code).toBe('PHAROS_ERR_BODY_TOO_LARGE');
    await new Promise((resolve) => server?.close(resolve));

    const arriving = await send(await serve(0), [big.subarray(0, 500), big.subarray(500)]);
    expect(arriving.status).toBe(413);
    expect(arriving.answer.code).toBe('PHAROS_ERR_BODY_TOO_LARGE');
  });
});
