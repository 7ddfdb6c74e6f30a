import { describe, expect, it } from 'vitest';
import { policyOf } from '../../../test/helpers/privacy.js';
import { scrubText } from './policy.js';

describe('scrubText memo', () => {
  it('counts a remembered string for its rules every time it is seen again', () => {
    const policy = policyOf();
    const emailIndex = policy.ruleNames.indexOf('email');
    const counts: number[] = [];
    for (let seen = 0; seen < 3; seen++) {
      expect(scrubText(policy, 'mail alice@example.com now', 'message', counts)).toBe(
        'mail [email] now',
      );
    }
    expect(counts[emailIndex]).toBe(3);
  });

  it('keeps the kinds apart: a custom rule for one kind does not follow the text to another', () => {
    const policy = policyOf({
      customRules: [
        {
          name: 'orders',
          pattern: 'order-\\d+',
          flags: '',
          replacement: 'order-#',
          fields: ['url'],
        },
      ],
    });
    const counts: number[] = [];
    expect(scrubText(policy, 'see order-1234', 'url', counts)).toBe('see order-#');
    expect(scrubText(policy, 'see order-1234', 'message', counts)).toBe('see order-1234');
    expect(scrubText(policy, 'see order-1234', 'url', counts)).toBe('see order-#');
  });

  it('keeps keepEmail apart: the user e-mail exemption is not remembered for other fields', () => {
    const policy = policyOf({ keepUserEmail: true });
    const counts: number[] = [];
    expect(scrubText(policy, 'alice@example.com', 'meta', counts, true)).toBe('alice@example.com');
    expect(scrubText(policy, 'alice@example.com', 'meta', counts, false)).toBe('[email]');
  });

  it('keeps policies apart: one tenant’s memo never answers for another’s rules', () => {
    const strict = policyOf();
    const lenient = policyOf({ rules: { email: false } });
    const counts: number[] = [];
    expect(scrubText(strict, 'alice@example.com', 'message', counts)).toBe('[email]');
    expect(scrubText(lenient, 'alice@example.com', 'message', counts)).toBe('alice@example.com');
  });

  it('scrubs strings too long to remember, and every string after the memo fills up', () => {
    const policy = policyOf();
    const counts: number[] = [];
    const long = `${'x'.repeat(600)} alice@example.com`;
    expect(scrubText(policy, long, 'message', counts)).toBe(`${'x'.repeat(600)} [email]`);
    for (let index = 0; index < 10_000; index++) {
      expect(scrubText(policy, `user${index}@example.com`, 'message', counts)).toBe('[email]');
    }
    expect(counts[policy.ruleNames.indexOf('email')]).toBe(10_001);
  });
});
