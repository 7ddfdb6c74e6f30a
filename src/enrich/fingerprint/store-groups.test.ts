import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AcceptedBatch, FaroException, FaroPayload } from '../../model/index.js';
import { createFingerprintEnricher } from './enricher.js';
import { fingerprintException } from './fingerprint.js';
import { estimateSessions, HASH_SPACE, sessionHash } from './session-sketch.js';
import { ERROR_GROUPS_MIGRATION, ErrorGroupStore } from './store-groups.js';

const T0 = Date.parse('2026-11-25T10:00:00.000Z');

const pricing: FaroException = {
  type: 'Error',
  value: 'Price calculation failed for qty 3',
  stacktrace: { frames: [{ filename: 'page/app.js', function: 'computeLineTotal', lineno: 64 }] },
};
const recommendations: FaroException = {
  type: 'TypeError',
  value: 'Failed to load recommendations',
  stacktrace: { frames: [{ filename: 'page/app.js', function: 'rejectUnhandled', lineno: 88 }] },
};

function batch(
  exceptions: FaroException[],
  options: { session?: string; at?: number; release?: string; app?: string } = {},
): AcceptedBatch {
  const payload: FaroPayload = {
    meta: {
      app: { name: 'shop', release: options.release ?? 'r42' },
      ...(options.session ? { session: { id: options.session } } : {}),
    },
    exceptions: structuredClone(exceptions),
  };
  const accepted: AcceptedBatch = {
    tenantId: 'acme',
    appId: options.app ?? 'shop',
    receivedAt: options.at ?? T0,
    payload,
    itemCount: exceptions.length,
    bytes: 100,
  };
  void createFingerprintEnricher().enrich(accepted);
  return accepted;
}

describe('error groups in the embedded store', () => {
  let db: Database.Database;
  let groups: ErrorGroupStore;

  beforeEach(() => {
    db = new Database(':memory:');
    db.exec(ERROR_GROUPS_MIGRATION);
    groups = new ErrorGroupStore(db, { sketchSize: 50 });
  });
  afterEach(() => db.close());

  const record = (accepted: AcceptedBatch, ids: number[] = []) =>
    db.transaction(() => groups.record(accepted, ids))();

  it('counts occurrences, first and last seen, releases and the latest occurrence', () => {
    record(batch([pricing], { session: 's1', at: T0, release: 'r41' }), [10]);
    record(batch([pricing, pricing], { session: 's2', at: T0 + 5000, release: 'r42' }), [11, 12]);
    record(batch([{ ...pricing, value: 'Price calculation failed for qty 9' }], { at: T0 - 1000 }));

    const group = groups.get('shop', fingerprintException(pricing));
    expect(group).toMatchObject({
      tenantId: 'acme',
      type: 'Error',
      title: 'Error: Price calculation failed for qty 9',
      culprit: 'computeLineTotal (page/app.js)',
      firstSeen: T0 - 1000,
      lastSeen: T0 + 5000,
      firstRelease: 'r41',
      lastRelease: 'r42',
      count: 4,
      sessions: 2,
      sessionsExact: true,
      lastItemId: 12,
    });
  });

  it('counts each session once, however often it hits the error', () => {
    for (let i = 0; i < 5; i++) record(batch([pricing, pricing], { session: 's1' }));
    record(batch([pricing], { session: 's2' }));
    expect(groups.get('shop', fingerprintException(pricing))).toMatchObject({
      count: 11,
      sessions: 2,
    });
  });

  it('counts sessions exactly up to the sketch size, then estimates within a few percent', () => {
    for (let i = 0; i < 50; i++) record(batch([pricing], { session: `session-${i}` }));
    expect(groups.get('shop', fingerprintException(pricing))).toMatchObject({
      sessions: 50,
      sessionsExact: true,
    });
    for (let i = 50; i < 3000; i++) record(batch([pricing], { session: `session-${i}` }));
    const group = groups.get('shop', fingerprintException(pricing));
    expect(group?.sessionsExact).toBe(false);
    // k = 50: relative standard error about 14 %; 3 sigma.
    expect(group?.sessions).toBeGreaterThan(3000 * 0.58);
    expect(group?.sessions).toBeLessThan(3000 * 1.42);
    const kept = db.prepare('SELECT COUNT(*) AS n FROM error_group_sessions').get() as {
      n: number;
    };
    expect(kept.n).toBe(50);
  });

  it('keeps apps and errors apart, and lists by last seen, count or sessions with a cursor', () => {
    record(batch([pricing, pricing, pricing], { session: 'a', at: T0 }));
    record(batch([recommendations], { session: 'b', at: T0 + 1000 }));
    record(batch([recommendations], { session: 'c', at: T0 + 2000 }));
    record(batch([pricing], { app: 'blog', at: T0 + 3000 }));

    const byLastSeen = groups.list({ appId: 'shop', limit: 10 });
    expect(byLastSeen.map((group) => group.type)).toEqual(['TypeError', 'Error']);
    expect(groups.list({ appId: 'shop', sort: 'count', limit: 10 })[0]?.count).toBe(3);
    expect(groups.list({ appId: 'shop', sort: 'sessions', limit: 10 })[0]?.sessions).toBe(2);
    expect(groups.list({ appId: 'shop', since: T0 + 1500, limit: 10 })).toHaveLength(1);
    expect(groups.list({ appId: 'blog', limit: 10 })).toHaveLength(1);

    const [first] = groups.list({ appId: 'shop', limit: 1 });
    const rest = groups.list({
      appId: 'shop',
      limit: 10,
      cursor: { value: first?.lastSeen ?? 0, fingerprint: first?.fingerprint ?? '' },
    });
    expect(rest.map((group) => group.type)).toEqual(['Error']);
  });

  it('deletes groups not seen within the retention, with their sessions', () => {
    record(batch([pricing], { session: 'a', at: T0 }));
    record(batch([recommendations], { session: 'b', at: T0 + 10_000 }));
    expect(groups.deleteLastSeenBefore(T0 + 5000)).toBe(1);
    expect(groups.list({ appId: 'shop', limit: 10 }).map((group) => group.type)).toEqual([
      'TypeError',
    ]);
    const sessions = db.prepare('SELECT COUNT(*) AS n FROM error_group_sessions').get() as {
      n: number;
    };
    expect(sessions.n).toBe(1);
  });

  it('fingerprints an exception the enricher did not reach', () => {
    const raw: AcceptedBatch = {
      tenantId: 'acme',
      appId: 'shop',
      receivedAt: T0,
      payload: { exceptions: [structuredClone(pricing)] },
      itemCount: 1,
      bytes: 1,
    };
    record(raw);
    expect(groups.get('shop', fingerprintException(pricing))?.count).toBe(1);
  });
});

describe('the session sketch estimate', () => {
  it('is exact until saturated, then (k-1) over the k-th smallest hash', () => {
    expect(estimateSessions(7, 123, false, 1000)).toBe(7);
    expect(estimateSessions(1000, HASH_SPACE / 10, true, 1000)).toBe(9990);
  });

  it('hashes session ids into 53 bits', () => {
    const hash = sessionHash('69tcByp4Jx');
    expect(Number.isSafeInteger(hash)).toBe(true);
    expect(hash).toBeGreaterThanOrEqual(0);
    expect(hash).toBeLessThan(HASH_SPACE);
    expect(sessionHash('69tcByp4Jx')).toBe(hash);
  });
});
