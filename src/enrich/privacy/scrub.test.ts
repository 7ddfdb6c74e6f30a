import { describe, expect, it } from 'vitest';
import { policyOf } from '../../../test/helpers/privacy.js';
import type { FaroPayload } from '../../model/index.js';
import { scrubPayload, type FieldChange } from './scrub.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk';

/** Each default rule: a secret and what it must become. */
const SECRETS = {
  email: ['alice.smith@example.com', '[email]'],
  jwt: [JWT, '[jwt]'],
  bearer: ['Bearer 0a1b2c3d4e5f6a7b8c9d', 'Bearer [token]'],
  creditCard: ['4111 1111 1111 1111', '[card]'],
  queryParams: ['https://x.example/cb?access_token=s3cr3t&page=2', 'https://x.example/cb?page=2'],
} as const;

type Path = readonly (string | number)[];

/** Every place a string can sit, by field kind. */
const LOCATIONS: Record<string, Path> = {
  'message: log message': ['logs', 0, 'message'],
  'message: exception value': ['exceptions', 0, 'value'],
  'message: exception type': ['exceptions', 0, 'type'],
  'message: span status': [
    'traces',
    'resourceSpans',
    0,
    'scopeSpans',
    0,
    'spans',
    0,
    'status',
    'message',
  ],
  'context: log context': ['logs', 0, 'context', 'note'],
  'context: exception context': ['exceptions', 0, 'context', 'note'],
  'context: measurement context': ['measurements', 0, 'context', 'note'],
  'attribute: event attribute': ['events', 0, 'attributes', 'note'],
  'attribute: meta.user.attributes': ['meta', 'user', 'attributes', 'note'],
  'attribute: meta.session.attributes': ['meta', 'session', 'attributes', 'note'],
  'attribute: meta.page.attributes': ['meta', 'page', 'attributes', 'note'],
  'url: meta.page.url': ['meta', 'page', 'url'],
  'url: resource event name': ['events', 1, 'attributes', 'name'],
  'url: span url.full': [
    'traces',
    'resourceSpans',
    0,
    'scopeSpans',
    0,
    'spans',
    0,
    'attributes',
    0,
    'value',
    'stringValue',
  ],
  'frame: filename': ['exceptions', 0, 'stacktrace', 'frames', 0, 'filename'],
  'frame: function': ['exceptions', 0, 'stacktrace', 'frames', 0, 'function'],
  'spanAttribute: span attribute': [
    'traces',
    'resourceSpans',
    0,
    'scopeSpans',
    0,
    'spans',
    0,
    'attributes',
    1,
    'value',
    'stringValue',
  ],
  'spanAttribute: span event attribute': [
    'traces',
    'resourceSpans',
    0,
    'scopeSpans',
    0,
    'spans',
    0,
    'events',
    0,
    'attributes',
    0,
    'value',
    'stringValue',
  ],
  'spanAttribute: resource attribute': [
    'traces',
    'resourceSpans',
    0,
    'resource',
    'attributes',
    0,
    'value',
    'stringValue',
  ],
  'spanAttribute: array value': [
    'traces',
    'resourceSpans',
    0,
    'scopeSpans',
    0,
    'spans',
    0,
    'attributes',
    2,
    'value',
    'arrayValue',
    'values',
    0,
    'stringValue',
  ],
  'spanAttribute: kvlist value': [
    'traces',
    'resourceSpans',
    0,
    'scopeSpans',
    0,
    'spans',
    0,
    'attributes',
    3,
    'value',
    'kvlistValue',
    'values',
    0,
    'value',
    'stringValue',
  ],
  'meta: user.email': ['meta', 'user', 'email'],
  'meta: user.fullName': ['meta', 'user', 'fullName'],
  'meta: browser.userAgent': ['meta', 'browser', 'userAgent'],
  'meta: geo.city': ['meta', 'geo', 'city'],
  'name: event name': ['events', 0, 'name'],
  'name: span name': ['traces', 'resourceSpans', 0, 'scopeSpans', 0, 'spans', 0, 'name'],
  'name: user action name': ['logs', 0, 'action', 'name'],
  'other: unknown item field': ['logs', 0, 'extra'],
  'other: unknown nested field': ['exceptions', 0, 'custom', 'deep', 0],
  'other: unknown top-level field': ['sdkNotes'],
};

function basePayload(): FaroPayload & Record<string, unknown> {
  const attribute = (key: string, text = 'plain') => ({ key, value: { stringValue: text } });
  // Fields the model does not name (`extra`, `custom`, `sdkNotes`) are allowed and kept.
  const raw = {
    meta: {
      user: { id: 'u-1', email: 'plain', fullName: 'plain', attributes: { note: 'plain' } },
      session: { id: 's-1', attributes: { note: 'plain' } },
      page: { url: 'https://shop.example/checkout', attributes: { note: 'plain' } },
      browser: { name: 'Chrome', userAgent: 'plain' },
      geo: { city: 'plain' },
    },
    logs: [
      {
        message: 'plain',
        level: 'info',
        context: { note: 'plain' },
        action: { name: 'plain' },
        extra: 'plain',
        timestamp: '2026-11-25T02:25:37.597Z',
      },
    ],
    exceptions: [
      {
        type: 'plain',
        value: 'plain',
        context: { note: 'plain' },
        stacktrace: { frames: [{ filename: 'plain', function: 'plain', lineno: 1, colno: 2 }] },
        custom: { deep: ['plain'] },
      },
    ],
    measurements: [
      { type: 'cart', values: { total: 4111111111111111 }, context: { note: 'plain' } },
    ],
    events: [
      { name: 'plain', attributes: { note: 'plain' } },
      { name: 'faro.performance.resource', attributes: { name: 'plain' } },
    ],
    traces: {
      resourceSpans: [
        {
          resource: { attributes: [attribute('service.name')] },
          scopeSpans: [
            {
              scope: { name: 'fetch' },
              spans: [
                {
                  traceId: 'f883faad099234562a1709a58b706623',
                  spanId: '29bdada71d7f1fe9',
                  name: 'plain',
                  startTimeUnixNano: '1795573543520000000',
                  attributes: [
                    attribute('url.full'),
                    attribute('note'),
                    { key: 'list', value: { arrayValue: { values: [{ stringValue: 'plain' }] } } },
                    {
                      key: 'map',
                      value: { kvlistValue: { values: [attribute('inner')] } },
                    },
                  ],
                  events: [{ name: 'evt', attributes: [attribute('note')] }],
                  status: { code: 2, message: 'plain' },
                },
              ],
            },
          ],
        },
      ],
    },
    sdkNotes: 'plain',
  };
  return raw as unknown as FaroPayload & Record<string, unknown>;
}

function at(root: unknown, path: Path): unknown {
  return path.reduce<unknown>(
    (node, key) => (node as Record<string | number, unknown> | undefined)?.[key],
    root,
  );
}
function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = at(root, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1] as string | number] = value;
}

describe('each default rule on every field kind', () => {
  for (const [rule, [secret, marker]] of Object.entries(SECRETS)) {
    it.each(Object.entries(LOCATIONS))(`${rule} in %s`, (_name, path) => {
      const payload = basePayload();
      setAt(payload, path, `before ${secret} after`);
      const result = scrubPayload(payload, policyOf());
      expect(at(payload, path)).toBe(`before ${marker} after`);
      expect(result.byRule[rule]).toBeGreaterThanOrEqual(1);
    });
  }

  it('changes nothing in a payload without secrets', () => {
    const payload = basePayload();
    const result = scrubPayload(payload, policyOf());
    // Only the card-shaped measurement value could match, and measurement values are metrics.
    expect(result.changed).toBe(0);
    expect(payload).toEqual(basePayload());
  });
});

describe('the payload walk', () => {
  it('renames map keys that hold a secret', () => {
    const payload = basePayload();
    payload.logs = [{ message: 'x', context: { 'alice@example.com': 'visited' } }];
    payload.measurements = [{ type: 'm', values: { 'bob@example.com': 3 } }];
    scrubPayload(payload, policyOf());
    expect(payload.logs[0]?.context).toEqual({ '[email]': 'visited' });
    expect(payload.measurements[0]?.values).toEqual({ '[email]': 3 });
  });

  it('replaces card numbers in number fields Pharos does not know, and OTLP intValue', () => {
    const payload = basePayload() as Record<string, unknown>;
    payload.cardOnFile = 4111111111111111;
    payload.timestamp = 1795573543396;
    const span = at(payload, ['traces', 'resourceSpans', 0, 'scopeSpans', 0, 'spans', 0]) as {
      attributes: unknown[];
    };
    span.attributes.push({ key: 'card', value: { intValue: '4111111111111111' } });
    span.attributes.push({ key: 'port', value: { intValue: 5602 } });
    scrubPayload(payload, policyOf());
    expect(payload.cardOnFile).toBe('[card]');
    expect(payload.timestamp).toBe(1795573543396);
    expect(span.attributes.at(-2)).toEqual({ key: 'card', value: { stringValue: '[card]' } });
    expect(span.attributes.at(-1)).toEqual({ key: 'port', value: { intValue: 5602 } });
    // Measurement values stay numbers: they feed histograms.
    expect(at(payload, ['measurements', 0, 'values', 'total'])).toBe(4111111111111111);
  });

  it('does not read timestamps, trace and span ids', () => {
    const payload = basePayload();
    const policy = policyOf({
      customRules: [
        { name: 'digits', pattern: '\\d', flags: '', replacement: '#', fields: ['other'] },
      ],
    });
    scrubPayload(payload, policy);
    expect(payload.logs?.[0]?.timestamp).toBe('2026-11-25T02:25:37.597Z');
    expect(
      at(payload, ['traces', 'resourceSpans', 0, 'scopeSpans', 0, 'spans', 0, 'traceId']),
    ).toBe('f883faad099234562a1709a58b706623');
  });

  it('scrubs the minified position the source-map enricher keeps on a symbolicated frame', () => {
    const payload = basePayload();
    const frame = at(payload, ['exceptions', 0, 'stacktrace', 'frames', 0]) as Record<
      string,
      unknown
    >;
    Object.assign(frame, {
      filename: 'page/app.js',
      minified: {
        filename: 'https://shop.example/app.min.js?token=t0k3n',
        function: 'aK',
        lineno: 1,
        colno: 9,
      },
    });
    scrubPayload(payload, policyOf());
    expect(frame.minified).toEqual({
      filename: 'https://shop.example/app.min.js',
      function: 'aK',
      lineno: 1,
      colno: 9,
    });
  });

  it('reports each change with its path, before and after', () => {
    const payload = basePayload();
    setAt(payload, ['meta', 'user', 'email'], 'alice@example.com');
    setAt(payload, ['events', 1, 'attributes', 'name'], 'https://x.example/?token=1');
    const changes: FieldChange[] = [];
    scrubPayload(payload, policyOf({ dropFields: ['meta.geo'] }), (change) => changes.push(change));
    expect(changes).toEqual([
      { path: 'meta.geo', before: { city: 'plain' }, after: undefined },
      { path: 'meta.user.email', before: 'alice@example.com', after: '[email]' },
      {
        path: 'events[1].attributes.name',
        before: 'https://x.example/?token=1',
        after: 'https://x.example/',
      },
    ]);
  });
});

describe('policy settings', () => {
  it('keeps meta.user.email and its span copy with keepUserEmail, and only those', () => {
    const payload = basePayload();
    setAt(payload, ['meta', 'user', 'email'], 'alice@example.com');
    setAt(payload, ['logs', 0, 'message'], 'mail alice@example.com');
    const attributes = at(payload, [
      'traces',
      'resourceSpans',
      0,
      'scopeSpans',
      0,
      'spans',
      0,
      'attributes',
    ]) as unknown[];
    attributes.push({ key: 'user.email', value: { stringValue: 'alice@example.com' } });
    scrubPayload(payload, policyOf({ keepUserEmail: true }));
    expect(payload.meta?.user?.email).toBe('alice@example.com');
    expect(attributes.at(-1)).toEqual({
      key: 'user.email',
      value: { stringValue: 'alice@example.com' },
    });
    expect(payload.logs?.[0]?.message).toBe('mail [email]');
  });

  it('turns rules off, and everything off', () => {
    const payload = basePayload();
    setAt(payload, ['logs', 0, 'message'], `alice@example.com ${JWT}`);
    scrubPayload(payload, policyOf({ rules: { email: false } }));
    expect(payload.logs?.[0]?.message).toBe('alice@example.com [jwt]');
    const untouched = basePayload();
    setAt(untouched, ['logs', 0, 'message'], 'alice@example.com');
    expect(scrubPayload(untouched, policyOf({ enabled: false })).changed).toBe(0);
    expect(untouched.logs?.[0]?.message).toBe('alice@example.com');
  });

  it('drops configured fields: meta paths, context keys, event and OTLP attributes', () => {
    const payload = basePayload();
    setAt(payload, ['events', 0, 'attributes', 'user.email'], 'x');
    const attributes = at(payload, [
      'traces',
      'resourceSpans',
      0,
      'scopeSpans',
      0,
      'spans',
      0,
      'attributes',
    ]) as { key: string }[];
    attributes.push({ key: 'user.email' }, { key: 'user.id' });
    const result = scrubPayload(
      payload,
      policyOf({
        dropFields: [
          'meta.user.fullName',
          'meta.session.attributes.note',
          'meta.browser',
          'context.note',
          'attributes.user.email',
        ],
      }),
    );
    expect(payload.meta?.user).toEqual({
      id: 'u-1',
      email: 'plain',
      attributes: { note: 'plain' },
    });
    expect(payload.meta?.session?.attributes).toEqual({});
    expect(payload.meta?.browser).toBeUndefined();
    expect(payload.logs?.[0]?.context).toEqual({});
    expect(payload.exceptions?.[0]?.context).toEqual({});
    expect(payload.events?.[0]?.attributes).toEqual({ note: 'plain' });
    expect(attributes.map((attribute) => attribute.key)).toEqual([
      'url.full',
      'note',
      'list',
      'map',
      'user.id',
    ]);
    expect(result.byRule.dropFields).toBe(8);
  });

  it('applies custom rules to the field kinds they name, after the built-in ones', () => {
    const payload = basePayload();
    setAt(payload, ['logs', 0, 'message'], 'employee EMP-123456 alice@example.com');
    setAt(payload, ['logs', 0, 'context', 'note'], 'employee EMP-123456');
    const result = scrubPayload(
      payload,
      policyOf({
        customRules: [
          {
            name: 'employee',
            pattern: 'EMP-\\d{6}',
            flags: '',
            replacement: '[employee]',
            fields: ['message'],
          },
          {
            name: 'marker',
            pattern: '\\[email\\]',
            flags: '',
            replacement: '<e>',
            fields: ['message'],
          },
        ],
      }),
    );
    expect(payload.logs?.[0]?.message).toBe('employee [employee] <e>');
    expect(payload.logs?.[0]?.context?.note).toBe('employee EMP-123456');
    expect(result.byRule).toEqual({ email: 1, employee: 1, marker: 1 });
  });

  it('drops extra query parameters of a tenant, and lets a tenant replace the list', () => {
    const payload = basePayload();
    setAt(payload, ['meta', 'page', 'url'], 'https://x.example/?ref=mail&token=1&key=2');
    scrubPayload(payload, policyOf({ extraQueryParams: ['ref'] }));
    expect(payload.meta?.page?.url).toBe('https://x.example/');
    const replaced = basePayload();
    setAt(replaced, ['meta', 'page', 'url'], 'https://x.example/?ref=mail&token=1&key=2');
    scrubPayload(replaced, policyOf({ queryParams: ['token'] }));
    expect(replaced.meta?.page?.url).toBe('https://x.example/?ref=mail&key=2');
  });
});
