import { describe, expect, it } from 'vitest';
import {
  classifyStatus,
  failedRequestOutcome,
  parseRetryAfter,
  truncateDetail,
} from './http-outcome.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('OTLP/HTTP answers', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wednesday, 25-Nov-26 12:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', NOW)).toBe(0);
    for (const junk of [null, undefined, '', 'soon', '1.5', '-3', '2026-11-25T12:01:00Z'])
      expect(parseRetryAfter(junk, NOW)).toBeUndefined();
  });

  it('classifies every status the way the module comment says', () => {
    const detail = () => 'text';
    const reasons = (statuses: number[]) =>
      statuses.map((status) => classifyStatus(status, null, detail, NOW).status);
    expect(reasons([200, 202, 204])).toEqual(['delivered', 'delivered', 'delivered']);
    expect(reasons([408, 429, 500, 502, 503, 504])).toEqual(Array(6).fill('retry'));
    expect(reasons([401, 403, 404, 301, 308])).toEqual(Array(5).fill('retry'));
    expect(reasons([400, 405, 409, 413, 415, 422, 501, 505])).toEqual(Array(8).fill('rejected'));
    expect(classifyStatus(429, '3', detail, NOW)).toEqual({
      status: 'retry',
      reason: 'http_429',
      retryAfterMs: 3000,
    });
    expect(classifyStatus(413, '3', detail, NOW)).toEqual({
      status: 'rejected',
      reason: 'http_413',
      detail: 'text',
    });
  });

  it('tells an aborted push (deadline, shutdown) from a network failure', () => {
    expect(failedRequestOutcome(new AbortController().signal)).toEqual({
      status: 'retry',
      reason: 'network',
    });
    const deadline = new AbortController();
    deadline.abort(new Error('push timed out'));
    expect(failedRequestOutcome(deadline.signal)).toEqual({ status: 'retry', reason: 'timeout' });
  });

  it('keeps a detail to one line of bounded length', () => {
    expect(truncateDetail('  a\n  b\t c  ', 100)).toBe('a b c');
    expect(truncateDetail('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
