import { isUtf8 } from 'node:buffer';
import secureJson from 'secure-json-parse';
import { PharosError } from '../errors/index.js';

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Parses a request body as JSON, refusing what could hurt us later rather than what is merely
 * unusual: invalid UTF-8 (it would be stored replaced, not as sent), nesting deeper than
 * `maxDepth` (walkers downstream recurse), and `__proto__` / `constructor.prototype` keys
 * (prototype pollution the moment anything merges the object).
 */
export function parseJsonBody(body: Buffer, maxDepth: number): unknown {
  if (body.length === 0) throw new PharosError('BODY_EMPTY', 'the request body is empty');
  if (!isUtf8(body)) throw new PharosError('BODY_INVALID_UTF8', 'the body is not valid UTF-8');
  // A body shorter than twice the limit cannot nest deeper than it.
  if (body.length > 2 * maxDepth) assertDepth(body, maxDepth);
  try {
    return secureJson.parse(body.toString('utf8'), undefined, {
      protoAction: 'error',
      constructorAction: 'error',
    });
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith('Object contains forbidden')) {
      throw new PharosError(
        'JSON_FORBIDDEN_KEY',
        'the JSON contains a __proto__ or constructor.prototype key',
      );
    }
    throw new PharosError('JSON_INVALID', `invalid JSON: ${message}`);
  }
}

/**
 * One pass over the bytes counting open objects and arrays outside strings. It runs before
 * JSON.parse so that a 10,000-deep body is refused without building it.
 */
function assertDepth(body: Buffer, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > maxDepth) {
        throw new PharosError('JSON_TOO_DEEP', `the JSON nests deeper than ${maxDepth} levels`);
      }
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
}
