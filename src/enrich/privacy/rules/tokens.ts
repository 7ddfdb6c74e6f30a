import type { TextRule } from './types.js';

export const JWT_MARKER = '[jwt]';
export const TOKEN_MARKER = '[token]';

/**
 * JSON Web Tokens: a header that starts `eyJ` (`{"` in base64url), then two more base64url
 * segments (the signature may be empty). The look-behind anchors a match at the start of a
 * token, which keeps the scan linear on long base64 runs.
 */
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

export const jwtRule: TextRule = {
  name: 'jwt',
  trigger: 'eyJ',
  mayMatch: (text) => text.includes('eyJ'),
  apply: (text) => text.replace(JWT, JWT_MARKER),
};

/** RFC 6750 `Bearer <b64token>`, as in a logged `Authorization` header. */
const BEARER = /\b(bearer)(\s+)([A-Za-z0-9._~+/-]+=*)/gi;
const MAY_MATCH_BEARER = /bearer\s/i;

/**
 * Bearer credentials become `Bearer [token]`. The word alone is not enough: the token must look
 * like one (8+ characters with a digit or a symbol, or 20+), so "Bearer authentication failed"
 * stays readable.
 */
export const bearerRule: TextRule = {
  name: 'bearer',
  trigger: '[Bb][Ee][Aa][Rr][Ee][Rr]\\s',
  mayMatch: (text) => MAY_MATCH_BEARER.test(text),
  apply: (text) =>
    text.replace(BEARER, (match, scheme: string, space: string, token: string) =>
      looksLikeToken(token) ? `${scheme}${space}${TOKEN_MARKER}` : match,
    ),
};

function looksLikeToken(token: string): boolean {
  if (token.length >= 20) return true;
  return token.length >= 8 && /[0-9._~+/=-]/.test(token);
}
