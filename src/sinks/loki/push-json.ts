import { gzipSync } from 'node:zlib';
import { gzipBounded } from '../bounded-gzip.js';
import { streamEntries, type PushStream } from './push-streams.js';
import { entryTimeNanosText } from './timestamps.js';

/**
 * Loki's JSON push body, gzip-compressed (`Content-Encoding: gzip`):
 *
 *   {"streams":[{"stream":{"kind":"log",...},"values":[["<unix ns>","<line>",{"session_id":"..."}]]}]}
 *
 * The third element of a value (structured metadata) is present only when there is some.
 * Built as one string: the shape is fixed, so `JSON.stringify` is needed only for the strings.
 * Units hold their entries in protobuf (unit.ts), so this encoding decodes them first: ~1 µs an
 * entry more than the default protobuf push, which sends them as they are.
 */

export const JSON_CONTENT_TYPE = 'application/json';

/**
 * zlib's default level. JSON is the encoding to pick when bytes on the wire matter more than CPU
 * (protobuf + snappy is cheaper to encode): level 6 is about a third smaller than level 1 on these
 * lines, for about twice the CPU (bench/loki-encoding.ts).
 */
const GZIP_LEVEL = 6;

export function encodePushJsonText(streams: readonly PushStream[], withMetadata: boolean): string {
  let body = '{"streams":[';
  let firstStream = true;
  for (const stream of streams) {
    body += firstStream ? '{"stream":{' : ',{"stream":{';
    firstStream = false;
    let firstLabel = true;
    for (const [name, value] of stream.labels) {
      body += `${firstLabel ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(value)}`;
      firstLabel = false;
    }
    body += '},"values":[';
    let firstEntry = true;
    for (const entry of streamEntries(stream)) {
      body += `${firstEntry ? '' : ','}["${entryTimeNanosText(entry)}",${JSON.stringify(entry.line)}`;
      firstEntry = false;
      if (withMetadata && entry.metadata && entry.metadata.length > 0) {
        let firstPair = true;
        body += ',{';
        for (const [name, value] of entry.metadata) {
          body += `${firstPair ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(value)}`;
          firstPair = false;
        }
        body += '}';
      }
      body += ']';
    }
    body += ']}';
  }
  return `${body}]}`;
}

/** The compressed body, on the thread pool so a large push does not hold the event loop. */
export async function encodePushJson(
  streams: readonly PushStream[],
  withMetadata: boolean,
): Promise<Buffer> {
  return gzipBounded(Buffer.from(encodePushJsonText(streams, withMetadata), 'utf8'), {
    level: GZIP_LEVEL,
  });
}

/** The same, synchronously (the bench measures the CPU cost this way). */
export function encodePushJsonSync(streams: readonly PushStream[], withMetadata: boolean): Buffer {
  return gzipSync(Buffer.from(encodePushJsonText(streams, withMetadata), 'utf8'), {
    level: GZIP_LEVEL,
  });
}
