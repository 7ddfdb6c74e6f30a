import { describe, expect, it } from 'vitest';
import { decideSession, sessionFraction } from '../../src/admission/sampling.js';
import {
  generateSessionId,
  keepsSession,
  sessionFraction as browserSessionFraction,
} from '../../packages/faro-remote-config/src/index.js';

/** Session ids as the Faro SDK makes them (10 characters of its alphabet). */
const SESSION_IDS = Array.from({ length: 100_000 }, () => generateSessionId());

function keptShare(rate: number): number {
  let kept = 0;
  for (const id of SESSION_IDS) if (decideSession(id, rate) === 'keep') kept++;
  return kept / SESSION_IDS.length;
}

describe('session-consistent sampling at the gateway', () => {
  it('decides a session the same way every time (every batch, every replica)', () => {
    for (const id of SESSION_IDS.slice(0, 1000)) {
      const first = decideSession(id, 0.5);
      for (let repeat = 0; repeat < 3; repeat++) expect(decideSession(id, 0.5)).toBe(first);
    }
    // Pinned: changing the hash or the mapping would re-sample every running session, and
    // browsers with the old helper would disagree with the gateway. XXH3-64('69tcByp4Jx') is
    // 0xc646f13a825d00a2 and XXH3-64('') is 0x2d06800538d394c2 (xxHash's own test vector).
    expect(sessionFraction('69tcByp4Jx')).toBe(0.7745199935765079);
    expect(sessionFraction('')).toBe(0.1758804333447428);
  });

  it('keeps every session at rate 1 and none at rate 0', () => {
    expect(keptShare(1)).toBe(1);
    expect(keptShare(0)).toBe(0);
  });

  it('keeps the rate share of 100,000 sessions within 1 percentage point', () => {
    // Binomial standard deviation at 0.25 over 100,000: 0.14 pp; 1 pp is seven of them.
    for (const rate of [0.01, 0.25, 0.5, 0.9]) {
      expect(Math.abs(keptShare(rate) - rate)).toBeLessThan(0.01);
    }
  });

  it('keeps at a higher rate every session it kept at a lower one (raising never re-samples)', () => {
    for (const id of SESSION_IDS.slice(0, 20_000)) {
      if (decideSession(id, 0.1) === 'keep') expect(decideSession(id, 0.3)).toBe('keep');
    }
  });

  it('makes the very decision the browser helper makes, for any id', () => {
    const ids = [
      ...SESSION_IDS.slice(0, 5000),
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'résumé-Ω-会话-😀',
      'x'.repeat(17),
      'y'.repeat(129),
      'z'.repeat(240),
      crypto.randomUUID(),
    ];
    for (const id of ids) {
      expect(browserSessionFraction(id)).toBe(sessionFraction(id));
      for (const rate of [0.1, 0.25, 0.5, 0.75])
        expect(keepsSession(id, rate)).toBe(decideSession(id, rate) === 'keep');
    }
  });

  it('treats a rate that is not a number as keep (never loses data to a bug)', () => {
    expect(decideSession('abc', Number.NaN)).toBe('keep');
    expect(decideSession('abc', 2)).toBe('keep');
    expect(decideSession('abc', -1)).toBe('drop');
  });
});
