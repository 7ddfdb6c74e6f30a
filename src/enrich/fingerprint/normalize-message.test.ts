import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_CHARS, looksLikeId, normalizeMessage } from './normalize-message.js';

describe('normalizeMessage', () => {
  it.each([
    ['Price calculation failed for qty 3', 'Price calculation failed for qty <n>'],
    ['Timeout after 3000ms (attempt 2.5)', 'Timeout after <n>ms (attempt <n>)'],
    ['User alice@example.com not found', 'User <email> not found'],
    ['order 550e8400-e29b-41d4-a716-446655440000 missing', 'order <uuid> missing'],
    ['GET https://api.example.com/v1/users/42?token=abc failed', 'GET <url> failed'],
    ['GET /api/cart?id=7&token=abc failed', 'GET /api/cart?<query> failed'],
    ['at 2026-11-25T02:25:37.597Z', 'at <date>'],
    ['on 2026-11-25 at 02:25:37', 'on <date> at <time>'],
    ['since Tue Nov 25 2026 02:25:37 GMT+0000 (Coordinated Universal Time)', 'since <date>'],
    ['connect 10.0.0.5:8080 refused', 'connect <ip> refused'],
    ['host fe80::1ff:fe23:4567:890a down', 'host <ip> down'],
    [
      "Cannot read properties of undefined (reading 'find')",
      'Cannot read properties of undefined (reading <str>)',
    ],
    ['Unexpected token "<" in `x`', 'Unexpected token <str> in <str>'],
    ['object 0x7fff5fbff8a8 hash 3f9a2c1b', 'object <hex> hash <hex>'],
    ['session 69tcByp4Jx expired', 'session <id> expired'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln rejected', 'token <jwt> rejected'],
    ['header Bearer abc.def-123 rejected', 'header Bearer <token> rejected'],
    ['card 4111 1111 1111 1111 declined', 'card <n> declined'],
    ['  many   spaces\n\tand lines ', 'many spaces and lines'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeMessage(input)).toBe(expected);
  });

  it('keeps words that carry digits but are not ids', () => {
    expect(normalizeMessage('Float32Array in utf8 base64url h1 v2')).toBe(
      'Float32Array in utf8 base64url h1 v2',
    );
  });

  it('keeps the console.error prefix: it tells a logged error from a thrown one', () => {
    expect(normalizeMessage('console.error: checkout failed')).toBe(
      'console.error: checkout failed',
    );
  });

  it('maps the privacy markers to the placeholders of the raw values they replace', () => {
    const pairs = [
      ['user alice@example.com', 'user [email]'],
      ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln', 'jwt [jwt]'],
      ['auth Bearer 0123456789abcdef', 'auth Bearer [token]'],
      ['card 4111-1111-1111-1111', 'card [card]'],
      ['client 203.0.113.7', 'client [ip]'],
    ];
    for (const [raw, redacted] of pairs) {
      expect(normalizeMessage(raw as string)).toBe(normalizeMessage(redacted as string));
    }
  });

  it('reads only the first MAX_MESSAGE_CHARS characters of a huge message', () => {
    const head = 'x'.repeat(MAX_MESSAGE_CHARS);
    expect(normalizeMessage(`${head} tail one`)).toBe(normalizeMessage(`${head} tail two`));
  });

  it('stays fast on hostile input (no catastrophic backtracking)', () => {
    const hostile = `${'a'.repeat(MAX_MESSAGE_CHARS)}@`;
    const started = performance.now();
    normalizeMessage(hostile);
    normalizeMessage(`eyJ${'a'.repeat(MAX_MESSAGE_CHARS)}`);
    normalizeMessage('1'.repeat(MAX_MESSAGE_CHARS));
    expect(performance.now() - started).toBeLessThan(250);
  });
});

describe('looksLikeId', () => {
  it.each([
    ['69tcByp4Jx', true],
    ['a8Kd93jXz', true],
    ['Float32Array', false],
    ['base64url', false],
    ['utf8mb4', false],
    ['checkout', false],
  ])('%s → %s', (token, expected) => {
    expect(looksLikeId(token)).toBe(expected);
  });
});
