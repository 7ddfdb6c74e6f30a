import { describe, expect, it } from 'vitest';
import { decideSession } from '../../src/admission/sampling.js';
import {
  allowsEnvironment,
  consistentSessionSampling,
  DEFAULT_REMOTE_CONFIG,
  faroOptionsFrom,
  type RemoteConfig,
} from '../../packages/faro-remote-config/src/index.js';

const REMOTE: RemoteConfig = {
  samplingRate: 0.4,
  tracePropagationUrls: ['^https://api\\.example/', '(unclosed'],
  ignoreUrls: ['/health$'],
  environments: ['production'],
  version: 7,
};

describe('faroOptionsFrom', () => {
  it('maps the remote settings onto Faro and TracingInstrumentation options', () => {
    const { config, tracingOptions } = faroOptionsFrom(REMOTE);
    expect(config.sessionTracking.samplingRate).toBe(0.4);
    expect(typeof config.sessionTracking.sampler).toBe('function');
    expect(typeof config.sessionTracking.generateSessionId).toBe('function');
    expect(config.ignoreUrls).toEqual([/\/health$/]);
    // The pattern that does not compile is skipped, not thrown.
    expect(tracingOptions.propagateTraceHeaderCorsUrls).toEqual([/^https:\/\/api\.example\//]);
    expect(tracingOptions.propagateTraceHeaderCorsUrls[0]?.test('https://api.example/x')).toBe(
      true,
    );
  });

  it("keeps the page's own session settings and ignored URLs", () => {
    const { config } = faroOptionsFrom(REMOTE, {
      sessionTracking: { persistent: true, maxSessionPersistenceTime: 60_000 },
      ignoreUrls: ['https://ads.example', /beacon/],
    });
    expect(config.sessionTracking).toMatchObject({
      persistent: true,
      maxSessionPersistenceTime: 60_000,
    });
    expect(config.ignoreUrls).toEqual(['https://ads.example', /beacon/, /\/health$/]);
  });

  it("generates ids with the page's own generateSessionId when it has one", () => {
    let made = 0;
    const { config } = faroOptionsFrom(REMOTE, {
      sessionTracking: { generateSessionId: () => `custom-${++made}` },
    });
    config.sessionTracking.sampler?.({ metas: {} });
    expect(config.sessionTracking.generateSessionId?.()).toBe('custom-1');
  });

  it('maps the defaults to keeping every session and propagating to no other origin', () => {
    const { config, tracingOptions } = faroOptionsFrom(DEFAULT_REMOTE_CONFIG);
    expect(config.sessionTracking.sampler?.({ metas: {} })).toBe(1);
    expect(tracingOptions.propagateTraceHeaderCorsUrls).toEqual([]);
  });
});

describe('consistentSessionSampling', () => {
  it('decides each new session as the gateway will, on the id Faro then asks for', () => {
    let kept = 0;
    for (let session = 0; session < 2000; session++) {
      const sampling = consistentSessionSampling(0.3);
      // Faro's order (createUserSessionObject({ isSampled: isSampled() })): sampler, then id.
      const decision = sampling.sampler();
      const id = sampling.generateSessionId();
      expect(decision === 1).toBe(decideSession(id, 0.3) === 'keep');
      kept += decision;
    }
    expect(kept / 2000).toBeGreaterThan(0.25);
    expect(kept / 2000).toBeLessThan(0.35);
  });

  it('never hands over an id drawn for a session that got its id elsewhere', async () => {
    const sampling = consistentSessionSampling(0.5);
    sampling.sampler(); // setSession({ id }): Faro samples, but does not ask for an id
    await Promise.resolve(); // the end of that task
    const drawnLater = sampling.generateSessionId();
    const again = sampling.generateSessionId();
    expect(drawnLater).not.toBe(again);
  });

  it('keeps all at rate 1 and none at rate 0', () => {
    for (let session = 0; session < 100; session++) {
      expect(consistentSessionSampling(1).sampler()).toBe(1);
      expect(consistentSessionSampling(0).sampler()).toBe(0);
    }
  });
});

describe('allowsEnvironment', () => {
  it('accepts any environment for an empty list, only listed ones otherwise', () => {
    expect(allowsEnvironment(DEFAULT_REMOTE_CONFIG, 'anything')).toBe(true);
    expect(allowsEnvironment(REMOTE, 'production')).toBe(true);
    expect(allowsEnvironment(REMOTE, 'dev')).toBe(false);
    expect(allowsEnvironment(REMOTE, undefined)).toBe(false);
  });
});
