import { readFileSync } from 'node:fs';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, readFixtureJson } from '../../../test/helpers/fixtures.js';
import type { AcceptedBatch, FaroException, FaroFrame, FaroPayload } from '../../model/index.js';
import { createFingerprintEnricher } from './enricher.js';
import {
  PHAROS_FINGERPRINT_FIELD,
  computeFingerprint,
  culpritOf,
  fingerprintException,
  pharosFingerprintOf,
} from './fingerprint.js';

const EXCEPTION_FIXTURES = {
  consoleError: '02-main-console--log_info+log_warn+exc_Error.json',
  consoleErrorObject: '03-main-console-error-object--exc_RangeError.json',
  pushError: '05-main-pushError--exc_Error.json',
  uncaught: '06-main-uncaught-error--exc_Error.json',
  rejection: '07-main-unhandled-rejection--exc_TypeError.json',
} as const;

function fixtureException(name: keyof typeof EXCEPTION_FIXTURES): FaroException {
  const payload = readFixtureJson(EXCEPTION_FIXTURES[name]) as FaroPayload;
  return structuredClone(payload.exceptions?.[0] as FaroException);
}

/**
 * Symbolicates app.min.js frames with the captured source map, as the source-map enricher does
 * before fingerprinting: original source path, original line and column, the map's name if any.
 */
const sourceMap = new TraceMap(readFileSync(new URL('app.min.js.map', FIXTURES_DIR), 'utf8'));
function symbolicate(exception: FaroException, lineShift = 0): FaroException {
  const frames = (exception.stacktrace?.frames ?? []).map((frame): FaroFrame => {
    if (!frame.filename?.endsWith('/app.min.js') || frame.lineno === undefined) return frame;
    const original = originalPositionFor(sourceMap, {
      line: frame.lineno,
      column: (frame.colno ?? 1) - 1,
    });
    if (original.source === null || original.line === null) return frame;
    return {
      ...frame,
      filename: original.source,
      function: original.name ?? frame.function ?? '?',
      lineno: original.line + lineShift,
      colno: (original.column ?? 0) + 1,
    };
  });
  return { ...exception, stacktrace: { frames } };
}

/** The same code built again: columns and mangled names move, file names get a new hash. */
function rebuild(exception: FaroException, build: { hash: string; origin: string }): FaroException {
  const mangled = new Map([
    ['aK', 'bQ'],
    ['aI', 'zT'],
    ['Object.cK [as pushHandledError]', 'Object.dZ [as pushHandledError]'],
    ['Object.uK [as rejectUnhandled]', 'Object.q7 [as rejectUnhandled]'],
  ]);
  const frames = (exception.stacktrace?.frames ?? []).map((frame) => ({
    ...frame,
    filename: frame.filename
      ?.replace('http://127.0.0.1:5600', build.origin)
      .replace('/dist/app.min.js', `/dist/app.${build.hash}.min.js?v=${build.hash}`),
    function: mangled.get(frame.function ?? '') ?? frame.function,
    ...(frame.lineno !== undefined ? { lineno: frame.lineno + 7 } : {}),
    ...(frame.colno !== undefined ? { colno: frame.colno + 311 } : {}),
  }));
  return { ...exception, stacktrace: { frames } };
}

describe('fingerprintException', () => {
  it('is 16 hex characters, and the same for the same input', () => {
    const exception = fixtureException('pushError');
    const id = fingerprintException(exception);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintException(structuredClone(exception))).toBe(id);
  });

  it('gives one fingerprint to the same error from two releases (minified frames)', () => {
    const release1 = fixtureException('pushError');
    const release2 = rebuild(release1, { hash: '7b1e0d9c', origin: 'https://cdn.example.com' });
    release2.value = 'Price calculation failed for qty 17';
    expect(fingerprintException(release2)).toBe(fingerprintException(release1));
  });

  it('gives one fingerprint to the same error from two releases (symbolicated frames)', () => {
    const release1 = symbolicate(fixtureException('uncaught'));
    const release2 = symbolicate(fixtureException('uncaught'), 12);
    release2.value = 'Price calculation failed for qty 250';
    expect(release2.stacktrace?.frames?.[0]?.lineno).not.toBe(
      release1.stacktrace?.frames?.[0]?.lineno,
    );
    expect(fingerprintException(release2)).toBe(fingerprintException(release1));
  });

  it('ignores ids, emails and dates in the message, but not its words', () => {
    const base = fixtureException('rejection');
    const variant = {
      ...base,
      value: 'Failed to load recommendations',
    };
    const withIds = {
      ...base,
      value: 'Failed to load 3 recommendations for alice@example.com at 2026-11-25T02:25:41Z',
    };
    const otherIds = {
      ...base,
      value: 'Failed to load 12 recommendations for bob@example.org at 2027-01-02T10:00:00Z',
    };
    expect(fingerprintException(withIds)).toBe(fingerprintException(otherIds));
    expect(fingerprintException(withIds)).not.toBe(fingerprintException(variant));
  });

  it('separates different errors: another type, another message, another function', () => {
    const base = fixtureException('pushError');
    const id = fingerprintException(base);
    expect(fingerprintException({ ...base, type: 'RangeError' })).not.toBe(id);
    expect(fingerprintException({ ...base, value: 'Discount code expired' })).not.toBe(id);
    const frames = structuredClone(base.stacktrace?.frames ?? []);
    (frames[3] as FaroFrame).function = 'Object.cK [as pushOtherError]';
    expect(fingerprintException({ ...base, stacktrace: { frames } })).not.toBe(id);
    expect(fingerprintException(fixtureException('uncaught'))).not.toBe(id);
  });

  it('groups a release without source maps apart from symbolicated ones (other files)', () => {
    const minified = fixtureException('uncaught');
    expect(fingerprintException(symbolicate(minified))).not.toBe(fingerprintException(minified));
  });

  it('uses symbolicated in-app frames and skips the SDK and node_modules frames', () => {
    const result = computeFingerprint(symbolicate(fixtureException('consoleError')));
    expect(result.source).toBe('stack');
    // Frames 0-4 are the Faro SDK (node_modules) and Array.forEach; the app's call comes next.
    expect(result.frames[0]).toEqual({ function: 'consoleCalls', file: 'page/app.js' });
    expect(result.frames.every((frame) => !frame.file.includes('node_modules'))).toBe(true);
    expect(result.frames.map((frame) => frame.file)).toEqual(['page/app.js', 's/main']);
  });

  it('counts only the top N in-app frames', () => {
    // pushError and uncaught share the throwing code (three frames) and differ in how it was called.
    const pushError = symbolicate(fixtureException('pushError'));
    const uncaught = symbolicate(fixtureException('uncaught'));
    const sameMessage = { value: 'Price calculation failed for qty 1' };
    const [a, b] = [
      { ...pushError, ...sameMessage },
      { ...uncaught, ...sameMessage },
    ];
    expect(fingerprintException(a, { maxFrames: 3 })).toBe(
      fingerprintException(b, { maxFrames: 3 }),
    );
    expect(fingerprintException(a)).not.toBe(fingerprintException(b));
  });

  it('falls back to type and message when no frame is the app’s', () => {
    const exception: FaroException = {
      type: 'TypeError',
      value: 'Load failed for item 12',
      stacktrace: {
        frames: [
          { filename: '<anonymous>', function: 'JSON.parse' },
          { filename: 'https://shop.example/node_modules/lib/index.js', function: 'parse' },
          { filename: 'chrome-extension://abc/content.js', function: 'inject' },
        ],
      },
    };
    const result = computeFingerprint(exception);
    expect(result.source).toBe('message');
    expect(result.id).toBe(
      fingerprintException({ type: 'TypeError', value: 'Load failed for item 99' }),
    );
    expect(result.id).not.toBe(fingerprintException({ type: 'Error', value: 'Load failed' }));
  });

  it('honours the client fingerprint, whatever the type, message and stack', () => {
    const a = { ...fixtureException('pushError'), fingerprint: 'checkout-pricing' };
    const b = { ...fixtureException('rejection'), fingerprint: 'checkout-pricing' };
    const c = { ...fixtureException('pushError'), fingerprint: 'checkout-coupon' };
    expect(computeFingerprint(a).source).toBe('client');
    expect(fingerprintException(a)).toBe(fingerprintException(b));
    expect(fingerprintException(a)).not.toBe(fingerprintException(c));
    // A blank one is no fingerprint.
    expect(fingerprintException({ ...a, fingerprint: '  ' })).toBe(
      fingerprintException(fixtureException('pushError')),
    );
  });

  it('fingerprints every captured exception from its stack', () => {
    for (const name of Object.keys(EXCEPTION_FIXTURES) as (keyof typeof EXCEPTION_FIXTURES)[]) {
      const minified = computeFingerprint(fixtureException(name));
      const symbolicated = computeFingerprint(symbolicate(fixtureException(name)));
      expect(minified.source, name).toBe('stack');
      expect(symbolicated.source, name).toBe('stack');
    }
    const ids = Object.keys(EXCEPTION_FIXTURES).map((name) =>
      fingerprintException(fixtureException(name as keyof typeof EXCEPTION_FIXTURES)),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('names the culprit: the top in-app frame', () => {
    expect(culpritOf(symbolicate(fixtureException('consoleErrorObject')))).toBe(
      'consoleErrorWithError (page/app.js)',
    );
    expect(culpritOf({ type: 'Error', value: 'x' })).toBeNull();
  });
});

describe('the fingerprint enricher', () => {
  function batchOf(payload: FaroPayload): AcceptedBatch {
    return { tenantId: 'acme', appId: 'shop', receivedAt: 0, payload, itemCount: 1, bytes: 1 };
  }

  it('sets pharosFingerprint on every exception and leaves the client fingerprint as sent', () => {
    const payload = readFixtureJson(EXCEPTION_FIXTURES.consoleError) as FaroPayload;
    const planted = { ...fixtureException('rejection'), fingerprint: 'mine' };
    (planted as Record<string, unknown>)[PHAROS_FINGERPRINT_FIELD] = 'forged';
    payload.exceptions = [...(payload.exceptions ?? []), planted];
    const sources: string[] = [];
    void createFingerprintEnricher({
      onFingerprint: (tenant, source) => sources.push(`${tenant}:${source}`),
    }).enrich(batchOf(payload));

    const [first, second] = payload.exceptions;
    expect(pharosFingerprintOf(first as FaroException)).toBe(
      fingerprintException(fixtureException('consoleError')),
    );
    expect(pharosFingerprintOf(second as FaroException)).toMatch(/^[0-9a-f]{16}$/);
    expect(pharosFingerprintOf(second as FaroException)).not.toBe('forged');
    expect(second?.fingerprint).toBe('mine');
    expect(sources).toEqual(['acme:stack', 'acme:client']);
  });

  it('blanks the release out of script paths, so a versioned CDN path keeps its group', () => {
    const exception = (release: string): FaroPayload => ({
      meta: { app: { name: 'shop', release } },
      exceptions: [
        {
          type: 'Error',
          value: 'boom',
          stacktrace: {
            frames: [{ filename: `https://cdn.example/${release}/app.js`, function: 'checkout' }],
          },
        },
      ],
    });
    const [a, b] = [exception('r42'), exception('r43')];
    const enricher = createFingerprintEnricher();
    void enricher.enrich(batchOf(a));
    void enricher.enrich(batchOf(b));
    expect(pharosFingerprintOf(a.exceptions?.[0] as FaroException)).toBe(
      pharosFingerprintOf(b.exceptions?.[0] as FaroException),
    );
  });
});
