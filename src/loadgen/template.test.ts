import { describe, expect, it } from 'vitest';
import { loadSessionSteps, SESSION_STEPS } from './fixtures.js';
import { createRandom, valueShapedLike } from './random.js';
import { createRequestSource } from './sessions.js';
import { compileTemplate, renderTemplate, type IdMap } from './template.js';

interface Rendered {
  meta: { session: { id: string }; app: { bundleId: string } };
  events?: {
    timestamp: string;
    trace?: { trace_id: string; span_id: string };
    attributes?: Record<string, string>;
  }[];
  traces?: {
    resourceSpans: {
      scopeSpans: { spans: { traceId: string; spanId: string; startTimeUnixNano: string }[] }[];
    }[];
  };
}

describe('body templates', () => {
  const steps = loadSessionSteps();
  const step = (name: string) => {
    const found = steps.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no step ${name}`);
    return found.template;
  };

  it('covers every step of the captured visit', () => {
    expect(steps.map((s) => s.name)).toEqual(SESSION_STEPS.map((s) => s.name));
  });

  it('gives ids fresh values, the same ones everywhere in a session', () => {
    const random = createRandom(1);
    const ids: IdMap = new Map();
    const fresh = (captured: string) => valueShapedLike(captured, random);
    const fetch = JSON.parse(
      renderTemplate(step('click-traced-fetch'), ids, fresh, Date.parse('2030-01-01T00:00:00Z')),
    ) as Rendered;
    const load = JSON.parse(renderTemplate(step('page-load'), ids, fresh, Date.now())) as Rendered;

    const span = fetch.traces?.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    const event = fetch.events?.[0];
    expect(fetch.meta.session.id).not.toBe('69tcByp4Jx');
    expect(fetch.meta.session.id).toMatch(/^[A-Za-z0-9]{10}$/);
    expect(load.meta.session.id).toBe(fetch.meta.session.id);
    expect(event?.attributes?.['session.id']).toBe(fetch.meta.session.id);
    expect(span?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span?.traceId).not.toBe('f883faad099234562a1709a58b706623');
    expect(event?.trace?.trace_id).toBe(span?.traceId);
    expect(event?.trace?.span_id).toBe(span?.spanId);
    // What finds the source map stays as captured.
    expect(fetch.meta.app.bundleId).toBe('1795573532342c4542cc2fb');
  });

  it('shifts every time so that the latest is now, keeping their spacing', () => {
    const now = Date.parse('2030-01-01T00:00:00.000Z');
    const rendered = JSON.parse(
      renderTemplate(step('click-traced-fetch'), new Map(), (value) => value, now),
    ) as Rendered;
    const eventTime = Date.parse(rendered.events?.[0]?.timestamp ?? '');
    const spanStart = rendered.traces?.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.startTimeUnixNano;
    expect(eventTime).toBe(now);
    // Captured 23 ms apart: 02:25:43.520 start, 02:25:43.543 event.
    expect(BigInt(spanStart ?? '0')).toBe(BigInt(now - 23) * 1_000_000n);
  });

  it('leaves a body without volatile values as it is', () => {
    const template = compileTemplate({ a: 1, b: ['x'] });
    expect(renderTemplate(template, new Map(), () => 'y', 0)).toBe('{"a":1,"b":["x"]}');
  });
});

describe('request source', () => {
  it('walks sessions round-robin over the apps, with a fresh idempotency key each time', () => {
    const source = createRequestSource({
      steps: loadSessionSteps(),
      apps: [
        { key: 'key-a', origin: 'https://a.example', tenant: 'ta' },
        { key: 'key-b', origin: undefined },
      ],
      sessions: 2,
      gzipShare: 0.5,
      keyPlacement: 'path',
      collectPath: '/collect/',
      random: createRandom(7),
    });
    const requests = Array.from({ length: 4 }, () => source.next());
    expect(requests.map((request) => request.path)).toEqual([
      '/collect/key-a',
      '/collect/key-b',
      '/collect/key-a',
      '/collect/key-b',
    ]);
    expect(requests[0]?.headers.origin).toBe('https://a.example');
    expect(requests[1]?.headers.origin).toBeUndefined();
    expect(requests.filter((request) => request.gzip)).toHaveLength(2);
    expect(requests[1]?.headers['content-encoding']).toBe('gzip');
    const keys = new Set(requests.map((request) => request.headers['idempotency-key']));
    expect(keys.size).toBe(4);
    expect(requests[0]?.headers['x-faro-session-id']).toMatch(/^[A-Za-z0-9]{10}$/);
  });

  it('puts the key in x-api-key for collectors that take it there (Alloy)', () => {
    const source = createRequestSource({
      steps: loadSessionSteps(),
      apps: [{ key: 'key-a', tenant: 'acme' }],
      sessions: 1,
      gzipShare: 0,
      keyPlacement: 'header',
      collectPath: '/collect',
      tenantHeader: 'x-scope-orgid',
      random: createRandom(7),
    });
    const request = source.next();
    expect(request.path).toBe('/collect');
    expect(request.headers['x-api-key']).toBe('key-a');
    expect(request.headers['x-scope-orgid']).toBe('acme');
  });
});
