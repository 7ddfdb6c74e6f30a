import type { IncomingHttpHeaders } from 'node:http';
import { InvalidSourceMapError } from './source-map-text.js';
import { MapTooLargeError } from './map-cache.js';

const COMMENT = /^\s*\/\/[#@]\s*sourceMappingURL\s*=\s*(\S+)\s*$/;

/**
 * Where a downloaded script says its map is: the `SourceMap` response header (or the older
 * `X-SourceMap`), which wins as in browsers, else a `//# sourceMappingURL=` comment on the
 * script's last non-blank line (a comment anywhere else may be inside a string or belong to an
 * inlined module). Undefined when it says nothing. The reference is returned as written;
 * relative ones resolve against the script's URL.
 */
export function sourceMappingUrlOf(
  script: Buffer,
  headers: IncomingHttpHeaders,
): string | undefined {
  const header = headers.sourcemap ?? headers['x-sourcemap'];
  const fromHeader = (Array.isArray(header) ? header[0] : header)?.trim();
  if (fromHeader) return fromHeader;
  const match = COMMENT.exec(lastNonBlankLine(script));
  return match?.[1];
}

/** Works on bytes: the last line of a 10 MB script may itself be megabytes (an inline map). */
function lastNonBlankLine(script: Buffer): string {
  let end = script.length;
  while (end > 0 && isBlank(script[end - 1] as number)) end -= 1;
  const start = script.lastIndexOf(0x0a, end - 1) + 1;
  return script.toString('utf8', start, end);
}

function isBlank(byte: number): boolean {
  return byte === 0x0a || byte === 0x0d || byte === 0x20 || byte === 0x09;
}

/** `data:application/json;base64,…` (or percent-encoded) → the map's bytes, capped. */
export function decodeDataUrl(url: string, maxBytes: number): Buffer {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma === -1)
    throw new InvalidSourceMapError('the inline source map is not a data: URL');
  const meta = url.slice(5, comma).toLowerCase();
  const data = url.slice(comma + 1);
  const isBase64 = meta.split(';').includes('base64');
  // Checked before decoding: decoded base64 is 3/4 of its text; percent-decoding only shrinks.
  const upperBound = isBase64 ? Math.floor((data.length * 3) / 4) : data.length;
  if (upperBound > maxBytes)
    throw new MapTooLargeError(`the inline source map exceeds ${maxBytes} bytes`);
  if (isBase64) return Buffer.from(data, 'base64');
  try {
    return Buffer.from(decodeURIComponent(data), 'utf8');
  } catch {
    throw new InvalidSourceMapError('the inline source map is not valid percent-encoding');
  }
}
