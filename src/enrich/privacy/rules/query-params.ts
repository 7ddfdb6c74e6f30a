import type { TextRule } from './types.js';

/**
 * Query (and fragment) parameters that carry credentials or session handles. `code` is an OAuth
 * authorization code (exchangeable for tokens for a few minutes); `state` is not included (a
 * nonce, useless once used). Fragments are searched too: the OAuth implicit flow puts
 * `#access_token=…` there, and it lands in `page.url`.
 */
export const DEFAULT_QUERY_PARAMS: readonly string[] = [
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'auth',
  'auth_token',
  'authorization',
  'password',
  'passwd',
  'pwd',
  'secret',
  'client_secret',
  'api_key',
  'apikey',
  'key',
  'code',
  'session',
  'sessionid',
  'session_id',
  'sid',
  'jwt',
  'ticket',
  'otp',
  'signature',
  'sig',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
];

/** A `?query` or `#fragment` part of a URL, wherever the URL appears (also inside a message). */
const URL_PART = /([?#])([^\s?#"'<>`]*)/g;

/**
 * Drops the named parameters (name and value) from URLs: `…/cb?code=abc&next=%2F` becomes
 * `…/cb?next=%2F`, and `…/cb?code=abc` becomes `…/cb`. Names compare case-insensitively.
 */
export function createQueryParamRule(names: readonly string[]): TextRule {
  const dropped = new Set(names.map((name) => name.toLowerCase()));
  const alternatives = [...dropped].map(escapeRegExp).join('|');
  // A named parameter right after `?`, `#` or `&`, ended by `=`, `&`, `#` or the end of the URL.
  const mayMatch = new RegExp(`[?#&](?:${alternatives})(?=[=&#\\s"'<>\`]|$)`, 'i');
  return {
    name: 'queryParams',
    trigger: '[?#&]',
    mayMatch: (text) => dropped.size > 0 && mayMatch.test(text),
    apply: (text) =>
      text.replace(URL_PART, (part, mark: string, params: string) => {
        if (params === '') return part;
        if (!params.includes('&')) {
          return dropped.has(paramName(params).toLowerCase()) ? '' : part;
        }
        const pairs = params.split('&');
        const kept = pairs.filter((pair) => !dropped.has(paramName(pair).toLowerCase()));
        if (kept.length === pairs.length) return part;
        return kept.length > 0 ? `${mark}${kept.join('&')}` : '';
      }),
  };
}

function paramName(pair: string): string {
  const equals = pair.indexOf('=');
  return equals === -1 ? pair : pair.slice(0, equals);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
