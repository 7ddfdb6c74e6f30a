import net from 'node:net';
import type { Readable } from 'node:stream';
import { Header } from 'tar';
import { request } from 'undici';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: { code?: string; message?: string } & Record<string, unknown>;
}

export async function call(
  url: string,
  method: 'GET' | 'POST' | 'DELETE',
  options: {
    body?: Buffer | string | Readable;
    headers?: Record<string, string>;
    token?: string;
  } = {},
): Promise<Answer> {
  const response = await request(url, {
    method,
    headers: {
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...options.headers,
    },
    body: options.body ?? null,
  });
  const text = await response.body.text();
  let body: Answer['body'] = {};
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    // Not JSON: the test looks at text.
  }
  return { status: response.statusCode, headers: response.headers, text, body };
}

/**
 * Sends a request head and then body bytes on a raw socket until the server answers (or
 * `maxBodyBytes` are sent), and returns the answer. For uploads the server must refuse before
 * they are complete: an HTTP client library would insist on sending the whole body first.
 */
export function rawUpload(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  nextChunk: (sent: number) => Buffer | undefined,
): Promise<{ status: number; head: string; sent: number }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    let answer = '';
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      if (status === 0) reject(new Error(`no answer (sent ${sent} bytes): ${answer}`));
      else resolve({ status, head: answer, sent });
    };
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (/\r\n\r\n/.test(answer) && !answer.startsWith('HTTP/1.1 100')) finish();
      else if (answer.startsWith('HTTP/1.1 100') && /\r\n\r\n[\s\S]*\r\n\r\n/.test(answer)) {
        answer = answer.slice(answer.indexOf('\r\n\r\n') + 4);
        finish();
      }
    });
    socket.on('error', () => finish());
    socket.on('close', () => finish());
    socket.on('connect', () => {
      const head = Object.entries({ host: `${hostname}:${port}`, ...headers })
        .map(([name, value]) => `${name}: ${value}`)
        .join('\r\n');
      socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n`);
      const pump = () => {
        while (!done) {
          const chunk = nextChunk(sent);
          if (chunk === undefined) return;
          sent += chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
}

/** A tar archive in memory: 512-byte headers, content padded to 512, two zero blocks. */
export function tarArchive(
  entries: { path: string; content: Buffer; type?: 'File' | 'Directory' }[],
): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const header = new Header({
      path: entry.path,
      mode: 0o644,
      size: entry.type === 'Directory' ? 0 : entry.content.length,
      type: entry.type ?? 'File',
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (entry.type !== 'Directory') {
      blocks.push(entry.content, Buffer.alloc((512 - (entry.content.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
