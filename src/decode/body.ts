import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { PharosError } from '../errors/index.js';
import { formatBytes } from '../lib/units.js';

export type ContentEncoding = 'identity' | 'gzip' | 'deflate';

export interface BodyLimits {
  /** Cap on decoded bytes (and on wire bytes: compression never needs more room than that). */
  maxBytes: number;
  /** The whole body must arrive within this many milliseconds. */
  timeoutMs: number;
}

/** Maps `Content-Encoding` to what we can decode; throws 415 for anything else (br, zstd, stacked codings). */
export function contentEncodingOf(header: string | undefined): ContentEncoding {
  if (header === undefined) return 'identity';
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  throw new PharosError(
    'UNSUPPORTED_ENCODING',
    `Content-Encoding ${JSON.stringify(header)} is not supported; use gzip, deflate or none`,
  );
}

/**
 * Reads the request body into one buffer, never holding more than `maxBytes` of it.
 * Compressed bodies are read compressed (capped the same way) and then inflated with
 * `maxOutputLength`, which makes zlib stop the moment the decoded size passes the cap — a gzip
 * bomb costs us at most `maxBytes` of output, never its full inflated size.
 */
export async function readBody(
  req: IncomingMessage,
  encoding: ContentEncoding,
  limits: BodyLimits,
): Promise<{ body: Buffer; wireBytes: number }> {
  const raw = await readRaw(req, limits);
  const body = encoding === 'identity' ? raw : await inflate(raw, encoding, limits.maxBytes);
  return { body, wireBytes: raw.length };
}

function tooLarge(maxBytes: number): PharosError {
  return new PharosError('BODY_TOO_LARGE', `body exceeds the ${formatBytes(maxBytes)} limit`);
}

function readRaw(req: IncomingMessage, { maxBytes, timeoutMs }: BodyLimits): Promise<Buffer> {
  // Most Faro batches arrive in the same packets as their headers: by the time the pipeline
  // asks, Node's parser has seen the end of the message and every chunk waits in the stream's
  // buffer. Taking them at once skips the timer, the four listeners and the events of the
  // general path (measured: see docs/performance.md).
  if (req.complete && req.readableFlowing !== true && !req.readableEnded) {
    if (req.readableLength > maxBytes) return Promise.reject(tooLarge(maxBytes));
    const chunks: Buffer[] = [];
    let received = 0;
    for (let chunk: Buffer | null; (chunk = req.read() as Buffer | null) !== null;) {
      chunks.push(chunk);
      received += chunk.length;
    }
    return Promise.resolve(
      chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const finish = (error: PharosError | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (error) {
        // Stop reading: whatever else the client sends is discarded with the connection.
        req.pause();
        reject(error);
      } else {
        resolve(body as Buffer);
      }
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) finish(tooLarge(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () =>
      finish(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
    const onError = () =>
      finish(new PharosError('BODY_INCOMPLETE', 'the upload failed before the body was complete'));
    const onClose = () => {
      if (!req.complete)
        finish(
          new PharosError(
            'BODY_INCOMPLETE',
            'the client closed the connection before the body was complete',
          ),
        );
    };
    const timer = setTimeout(
      () =>
        finish(new PharosError('BODY_TIMEOUT', `the body did not arrive within ${timeoutMs} ms`)),
      timeoutMs,
    );

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Bodies up to this size (compressed) are inflated synchronously: a thread-pool round trip costs
 * ~10× more than inflating a typical Faro batch (the SDK's keepalive limit is 60 kB), and
 * `maxOutputLength` bounds the worst case to a few milliseconds.
 */
const SYNC_INFLATE_MAX = 64 * 1024;

function inflate(raw: Buffer, encoding: 'gzip' | 'deflate', maxBytes: number): Promise<Buffer> {
  if (raw.length === 0) return Promise.resolve(raw);
  const options: zlib.ZlibOptions = { maxOutputLength: maxBytes, chunkSize: 64 * 1024 };
  const method =
    encoding === 'gzip'
      ? 'gunzip'
      : // HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2), but some clients send raw DEFLATE.
        hasZlibHeader(raw)
        ? 'inflate'
        : 'inflateRaw';
  const failure = (error: Error): PharosError =>
    (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
      ? tooLarge(maxBytes)
      : new PharosError('BODY_DECOMPRESSION_FAILED', `invalid ${encoding} body: ${error.message}`);

  if (raw.length <= SYNC_INFLATE_MAX) {
    try {
      return Promise.resolve(zlib[`${method}Sync`](raw, options));
    } catch (error) {
      return Promise.reject(failure(error as Error));
    }
  }
  return new Promise((resolve, reject) => {
    zlib[method](raw, options, (error, result) =>
      error ? reject(failure(error)) : resolve(result),
    );
  });
}

function hasZlibHeader(raw: Buffer): boolean {
  const cmf = raw[0];
  const flg = raw[1];
  return (
    cmf !== undefined && flg !== undefined && (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0
  );
}
