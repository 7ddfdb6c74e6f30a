import type { TextRule } from './types.js';

export const EMAIL_MARKER = '[email]';

/**
 * File extensions that follow an `@` in asset names (`icon@2x.png`) and are no top-level domain:
 * such a match is a file, not an address.
 */
const FILE_EXTENSIONS = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'avif',
  'ico',
  'bmp',
  'js',
  'mjs',
  'cjs',
  'jsx',
  'ts',
  'tsx',
  'css',
  'map',
  'json',
  'html',
  'htm',
  'txt',
  'xml',
  'woff',
  'woff2',
  'ttf',
  'otf',
  'eot',
  'mp4',
  'webm',
  'mp3',
  'wasm',
]);

/**
 * E-mail addresses, also percent-encoded in URLs (`alice%40example.com`), become `[email]`.
 *
 * A hand-written scan rather than a regex: it starts only at an `@` (or `%40`) and walks out
 * from it, so the cost is linear in the text whatever it holds; a regex with a repeated local
 * part backtracks quadratically on long runs of letters, and a 5 MiB body may hold one.
 */
export const emailRule: TextRule = {
  name: 'email',
  trigger: '@|%40',
  mayMatch: (text) => text.includes('@') || text.includes('%40'),
  apply: redactEmails,
};

export function redactEmails(text: string): string {
  const separators = separatorFinder(text);
  let out = '';
  let copied = 0;
  let searchFrom = 0;
  // Local parts are scanned back no further than the previous separator: every character is
  // read at most twice, even in `a%40a%40a%40…` (`%`, `4` and `0` are local-part characters).
  let floor = 0;
  for (;;) {
    const separator = separators.next(searchFrom);
    if (separator === undefined) break;
    const { at, length } = separator;
    let start = at;
    while (start > floor && isLocalChar(text.charCodeAt(start - 1))) start--;
    while (start < at && text.charCodeAt(start) === DOT) start++;
    let end = at + length;
    while (end < text.length && isDomainChar(text.charCodeAt(end))) end++;
    // A sentence may end right after the address: "write to a@b.com."
    while (end > at + length && !isAlphanumeric(text.charCodeAt(end - 1))) end--;
    if (start < at && isMailDomain(text.slice(at + length, end))) {
      out += text.slice(copied, start) + EMAIL_MARKER;
      copied = end;
      searchFrom = end;
    } else {
      searchFrom = at + length;
    }
    floor = searchFrom;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * The next `@` or `%40` at or after a position. Each kind's last position is remembered, so a
 * text with many of one and none of the other is not searched to its end again at every step.
 */
function separatorFinder(text: string) {
  let plain = -2;
  let encoded = -2;
  return {
    next(from: number): { at: number; length: number } | undefined {
      if (plain !== -1 && plain < from) plain = text.indexOf('@', from);
      if (encoded !== -1 && encoded < from) encoded = text.indexOf('%40', from);
      if (plain === -1 && encoded === -1) return undefined;
      if (encoded === -1 || (plain !== -1 && plain < encoded)) return { at: plain, length: 1 };
      return { at: encoded, length: 3 };
    },
  };
}

/** `example.com`, `mail.example.co.uk`: labels, a dot, and a top-level domain of letters. */
function isMailDomain(domain: string): boolean {
  const lastDot = domain.lastIndexOf('.');
  if (lastDot <= 0 || domain.startsWith('.') || domain.startsWith('-')) return false;
  const tld = domain.slice(lastDot + 1);
  return /^[A-Za-z]{2,24}$/.test(tld) && !FILE_EXTENSIONS.has(tld.toLowerCase());
}

const DOT = 46;

function isAlphanumeric(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** The practical local-part characters: letters, digits, `. _ % + -`. */
function isLocalChar(code: number): boolean {
  return (
    isAlphanumeric(code) || code === DOT || code === 95 || code === 37 || code === 43 || code === 45
  );
}

function isDomainChar(code: number): boolean {
  return isAlphanumeric(code) || code === DOT || code === 45;
}
