import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { AcceptedBatch, FaroPayload } from '../../model/index.js';
import { PrivacySettingsSchema, type PrivacySettings } from './config.js';
import { createPrivacyEnricher } from './enricher.js';

const defaults = Value.Default(PrivacySettingsSchema, {}) as PrivacySettings;

function batch(tenantId: string, payload: FaroPayload): AcceptedBatch {
  return { tenantId, appId: `${tenantId}-app`, receivedAt: 0, payload, itemCount: 1, bytes: 1 };
}
const payload = (): FaroPayload => ({
  meta: { user: { email: 'alice@example.com' } },
  logs: [{ message: 'order EMP-123456 by alice@example.com' }],
});

describe('the privacy enricher', () => {
  const enricher = createPrivacyEnricher({
    global: defaults,
    tenants: new Map([
      ['open', { rules: { email: false } }],
      [
        'strict',
        {
          customRules: [
            {
              name: 'employee',
              pattern: 'EMP-\\d+',
              flags: '',
              replacement: '[employee]',
              fields: ['message' as const],
            },
          ],
        },
      ],
    ]),
  });

  it('applies the global rules to tenants without an override', () => {
    const accepted = batch('other', payload());
    void enricher.enrich(accepted);
    expect(accepted.payload).toEqual({
      meta: { user: { email: '[email]' } },
      logs: [{ message: 'order EMP-123456 by [email]' }],
    });
  });

  it("applies a tenant's override: one allows e-mails, one adds a rule", () => {
    const open = batch('open', payload());
    void enricher.enrich(open);
    expect(open.payload).toEqual(payload());
    const strict = batch('strict', payload());
    void enricher.enrich(strict);
    expect(strict.payload.logs?.[0]?.message).toBe('order [employee] by [email]');
  });

  it('counts redactions by tenant and rule', () => {
    const counted: string[] = [];
    const counting = createPrivacyEnricher({
      global: defaults,
      onRedactions: (tenant, rule, count) => counted.push(`${tenant}/${rule}/${count}`),
    });
    void counting.enrich(batch('acme', payload()));
    expect(counted).toEqual(['acme/email/2']);
  });

  it('fails closed: a payload it cannot scrub loses its items instead of reaching a sink', () => {
    const failures: unknown[] = [];
    const failing = createPrivacyEnricher({
      global: defaults,
      onFailure: (_tenant, error) => failures.push(error),
    });
    const broken = payload();
    Object.defineProperty(broken.logs?.[0], 'message', {
      enumerable: true,
      get: () => {
        throw new Error('unreadable');
      },
    });
    const accepted = batch('acme', broken);
    expect(() => failing.enrich(accepted)).not.toThrow();
    expect(accepted.payload).toEqual({});
    expect(failures).toHaveLength(1);
  });

  it('refuses a configuration whose custom rule cannot work', () => {
    expect(() =>
      createPrivacyEnricher({
        global: {
          ...defaults,
          customRules: [
            { name: 'x', pattern: 'a|', flags: '', replacement: '', fields: ['message'] },
          ],
        },
      }),
    ).toThrow(/must not match the empty string/);
  });
});
