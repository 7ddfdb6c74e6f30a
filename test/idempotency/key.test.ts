import { describe, expect, it } from 'vitest';
import { parseIdempotencyKey } from '../../src/admission/idempotency/index.js';

describe('Idempotency-Key validation', () => {
  it("accepts the SDK's 20-character keys and any 1–128 visible ASCII characters", () => {
    for (const key of ['UPQk7yHmHu8GcRwJrQei', 'a', '~'.repeat(128), 'batch:42/retry=0!']) {
      expect(parseIdempotencyKey({ 'idempotency-key': key })).toEqual({ kind: 'valid', key });
    }
  });

  it('ignores (does not refuse) keys that are empty, too long, or not visible ASCII', () => {
    for (const key of ['', 'x'.repeat(129), 'has space', 'tab\tkey', 'clé', 'line\u007f']) {
      expect(parseIdempotencyKey({ 'idempotency-key': key })).toEqual({ kind: 'invalid' });
    }
  });

  it('treats a repeated header as invalid (which key was meant is unknowable)', () => {
    expect(parseIdempotencyKey({ 'idempotency-key': ['a', 'b'] as never })).toEqual({
      kind: 'invalid',
    });
  });

  it('reports an absent header', () => {
    expect(parseIdempotencyKey({})).toEqual({ kind: 'absent' });
  });
});
