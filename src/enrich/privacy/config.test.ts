import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  PrivacySettingsSchema,
  TenantPrivacySchema,
  privacyConfigProblems,
  resolvePrivacySettings,
  type PrivacySettings,
} from './config.js';
import { privacyConfigOf } from './config-file.js';
import { DEFAULT_QUERY_PARAMS } from './rules/query-params.js';

const defaults = Value.Default(PrivacySettingsSchema, {}) as PrivacySettings;

describe('privacy settings', () => {
  it('defaults: every rule on except ipAddress, e-mails redacted everywhere', () => {
    expect(Value.Check(PrivacySettingsSchema, defaults)).toBe(true);
    expect(defaults).toMatchObject({
      enabled: true,
      rules: {
        queryParams: true,
        jwt: true,
        bearer: true,
        email: true,
        creditCard: true,
        ipAddress: false,
      },
      keepUserEmail: false,
      extraQueryParams: [],
      dropFields: [],
      customRules: [],
    });
    expect(defaults.queryParams).toEqual(DEFAULT_QUERY_PARAMS);
  });

  it('merges a tenant override: switches replace, lists add up', () => {
    const global = {
      ...defaults,
      extraQueryParams: ['ref'],
      dropFields: ['meta.geo'],
      customRules: [
        { name: 'a', pattern: 'a', flags: '', replacement: 'b', fields: ['message' as const] },
      ],
    };
    const effective = resolvePrivacySettings(global, {
      rules: { email: false },
      keepUserEmail: true,
      queryParams: ['token'],
      extraQueryParams: ['utm_source'],
      dropFields: ['context.cartId'],
      customRules: [{ name: 'c', pattern: 'c', flags: '', replacement: 'd', fields: ['context'] }],
    });
    expect(effective.rules).toMatchObject({ email: false, jwt: true, ipAddress: false });
    expect(effective.keepUserEmail).toBe(true);
    expect(effective.queryParams).toEqual(['token', 'ref', 'utm_source']);
    expect(effective.dropFields).toEqual(['meta.geo', 'context.cartId']);
    expect(effective.customRules.map((rule) => rule.name)).toEqual(['a', 'c']);
    expect(resolvePrivacySettings(global).rules.email).toBe(true);
  });

  it('validates field kinds, flags and drop paths', () => {
    const check = (value: unknown) => Value.Check(TenantPrivacySchema, value);
    expect(
      check({
        customRules: [{ name: 'x', pattern: 'y', flags: 'i', replacement: 'z', fields: ['url'] }],
      }),
    ).toBe(true);
    expect(
      check({
        customRules: [{ name: 'x', pattern: 'y', flags: 'g', replacement: 'z', fields: ['url'] }],
      }),
    ).toBe(false);
    expect(
      check({
        customRules: [{ name: 'x', pattern: 'y', flags: '', replacement: 'z', fields: ['body'] }],
      }),
    ).toBe(false);
    expect(check({ rules: { phone: true } })).toBe(false);
    for (const field of [
      'meta.geo',
      'meta.user.fullName',
      'meta.user.attributes',
      'meta.user.attributes.a.b',
      'context.cartId',
      'attributes.user.email',
    ]) {
      expect(check({ dropFields: [field] }), field).toBe(true);
    }
    for (const field of ['geo', 'meta', 'meta.user.email.x', 'logs.message', 'context.']) {
      expect(check({ dropFields: [field] }), field).toBe(false);
    }
  });

  it('finds custom rules that cannot work', () => {
    const rule = (name: string, pattern: string) => ({
      name,
      pattern,
      flags: '',
      replacement: '',
      fields: ['message' as const],
    });
    expect(privacyConfigProblems({ customRules: [rule('a', '(')] }, 'privacy')[0]?.path).toBe(
      'privacy.customRules[0].pattern',
    );
    expect(privacyConfigProblems({ customRules: [rule('a', 'x*')] }, 'privacy')[0]?.reason).toBe(
      'must not match the empty string',
    );
    expect(
      privacyConfigProblems({ customRules: [rule('a', 'x'), rule('a', 'y')] }, 'p')[0]?.reason,
    ).toMatch(/duplicate/);
    expect(privacyConfigProblems({ customRules: [rule('a', 'x')] }, 'p')).toEqual([]);
  });

  it('reads the privacy blocks of a configuration, and names a bad setting', () => {
    const config = privacyConfigOf({
      privacy: { rules: { ipAddress: true } },
      tenants: [
        { id: 'acme', privacy: { rules: { email: false } } },
        { id: 'blog', apps: [] },
      ],
    });
    expect(config.global.rules.ipAddress).toBe(true);
    expect(config.tenants.get('acme')).toEqual({ rules: { email: false } });
    expect(config.tenants.get('blog')).toEqual({});
    expect(() => privacyConfigOf({ privacy: { rules: { email: 'yes' } } })).toThrow(
      /privacy\.rules\.email/,
    );
    expect(() =>
      privacyConfigOf({
        tenants: [{ id: 'x', privacy: { customRules: [{ name: 'a', pattern: '[' }] } }],
      }),
    ).toThrow(/tenants\[0\]\.privacy\.customRules\[0\]\.pattern/);
  });
});
