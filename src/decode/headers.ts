import type { IncomingHttpHeaders } from 'node:http';
import { PharosError } from '../errors/index.js';
import { formatBytes } from '../lib/units.js';
import { contentEncodingOf, type ContentEncoding } from './body.js';

/**
 * The checks that need only the headers, cheapest first: media type, content coding, declared
 * length. A `Content-Length` over the cap is refused before a byte of the body is read.
 */
export function checkBodyHeaders(headers: IncomingHttpHeaders, maxBytes: number): ContentEncoding {
  const contentType = headers['content-type'];
  if (!isAcceptedMediaType(contentType)) {
    throw new PharosError(
      'UNSUPPORTED_MEDIA_TYPE',
      contentType === undefined
        ? 'missing Content-Type; send application/json'
        : `Content-Type ${JSON.stringify(contentType)} is not supported; send application/json`,
    );
  }
  const encoding = contentEncodingOf(headers['content-encoding']);
  const declared = headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new PharosError(
      'BODY_TOO_LARGE',
      `Content-Length ${declared} exceeds the ${formatBytes(maxBytes)} limit`,
    );
  }
  return encoding;
}

/** `application/json` (any parameters) or `text/plain`, which beacon-style senders must use. */
function isAcceptedMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  return type === 'application/json' || type === 'text/plain';
}
