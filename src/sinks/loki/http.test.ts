import { describe, expect, it } from 'vitest';
import { classifyResponse, lokiPushUrl, parseRetryAfter, pushHeaders } from './http.js';

describe('lokiPushUrl', () => {
  it.each([
    ['http://loki:3100', 'http://loki:3100/loki/api/v1/push'],
    ['http://loki:3100/', 'http://loki:3100/loki/api/v1/push'],
    ['https://gw.example.com/tenant-a', 'https://gw.example.com/tenant-a/loki/api/v1/push'],
    ['https://gw.example.com/tenant-a/', 'https://gw.example.com/tenant-a/loki/api/v1/push'],
    ['http://loki:3100/loki/api/v1/push', 'http://loki:3100/loki/api/v1/push'],
    ['http://loki:3100/loki/api/v1/push/', 'http://loki:3100/loki/api/v1/push'],
    ['http://loki:3100/?x=1', 'http://loki:3100/loki/api/v1/push?x=1'],
  ])('%s → %s', (base, expected) => {
    expect(lokiPushUrl(base)).toBe(expected);
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => lokiPushUrl('loki:3100')).toThrow(/http or https/);
    expect(() => lokiPushUrl('not a url')).toThrow(/not a valid URL/);
    expect(() => lokiPushUrl('ftp://loki')).toThrow(/http or https/);
  });
});

describe('pushHeaders', () => {
  it('sets content type, encoding, org id, basic auth and user agent', () => {
    const headers = pushHeaders({
      contentType: 'application/json',
      contentEncoding: 'gzip',
      orgId: 'tenant-1',
      basicAuth: { username: 'user', password: 'pa:ss' },
      userAgent: 'pharos/1.0.0',
    });
    expect(Object.fromEntries(headers)).toEqual({
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'x-scope-orgid': 'tenant-1',
      authorization: `Basic ${Buffer.from('user:pa:ss').toString('base64')}`,
      'user-agent': 'pharos/1.0.0',
    });
  });

  it('lets extra headers add but not change the body headers or the org id', () => {
    const headers = pushHeaders({
      contentType: 'application/x-protobuf',
      userAgent: 'pharos/1.0.0',
      extra: {
        Authorization: 'Bearer t',
        'Content-Type': 'text/plain',
        'Content-Encoding': 'br',
        'X-Scope-OrgID': 'other',
        'X-Gateway': 'yes',
      },
    });
    expect(Object.fromEntries(headers)).toEqual({
      authorization: 'Bearer t',
      'content-type': 'application/x-protobuf',
      'user-agent': 'pharos/1.0.0',
      'x-gateway': 'yes',
    });
  });

  it('refuses an invalid header name at construction', () => {
    expect(() =>
      pushHeaders({ contentType: 'a/b', userAgent: 'u', extra: { 'bad header': 'x' } }),
    ).toThrow();
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  it('reads delta-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('classifyResponse', () => {
  const now = 0;
  it.each([
    [200, { status: 'delivered' }],
    [204, { status: 'delivered' }],
    [400, { status: 'rejected', reason: 'http_400', detail: 'body' }],
    [413, { status: 'rejected', reason: 'http_413', detail: 'body' }],
    [422, { status: 'rejected', reason: 'http_422', detail: 'body' }],
    [415, { status: 'rejected', reason: 'http_4xx', detail: 'body' }],
    [431, { status: 'rejected', reason: 'http_4xx', detail: 'body' }],
    [408, { status: 'retry', reason: 'http_408' }],
    [429, { status: 'retry', reason: 'http_429' }],
    [500, { status: 'retry', reason: 'http_500' }],
    [502, { status: 'retry', reason: 'http_502' }],
    [503, { status: 'retry', reason: 'http_503' }],
    [504, { status: 'retry', reason: 'http_504' }],
    [507, { status: 'retry', reason: 'http_5xx' }],
    [401, { status: 'retry', reason: 'http_401' }],
    [403, { status: 'retry', reason: 'http_403' }],
    [404, { status: 'retry', reason: 'http_404' }],
    [405, { status: 'retry', reason: 'http_405' }],
    [307, { status: 'retry', reason: 'http_3xx' }],
  ])('%i → %j', (status, expected) => {
    expect(classifyResponse(status, null, 'body', now)).toEqual(expected);
  });

  it('passes Retry-After on retries, and leaves out an empty detail', () => {
    expect(classifyResponse(429, '7', '', now)).toEqual({
      status: 'retry',
      reason: 'http_429',
      retryAfterMs: 7000,
    });
    expect(classifyResponse(400, null, '', now)).toEqual({
      status: 'rejected',
      reason: 'http_400',
    });
  });
});
