import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { expect } from 'vitest';
import type { Enricher } from '../../src/enrich/types.js';
import type { SymbolicatedFrame } from '../../src/enrich/sourcemaps/index.js';
import type { AcceptedBatch, FaroPayload } from '../../src/model/index.js';
import { readFixtureJson } from '../helpers/fixtures.js';
import { fixtureMap } from './harness.js';

/** The captured payloads whose exceptions have frames in the minified fixture bundle. */
export const EXCEPTION_FIXTURES = [
  '02-main-console--log_info+log_warn+exc_Error.json',
  '03-main-console-error-object--exc_RangeError.json',
  '05-main-pushError--exc_Error.json',
  '06-main-uncaught-error--exc_Error.json',
  '07-main-unhandled-rejection--exc_TypeError.json',
];

export const MINIFIED_URL = 'http://127.0.0.1:5600/dist/app.min.js';

export function fixtureBatch(file: string, appId = 'capture-app'): AcceptedBatch {
  const payload = readFixtureJson(file) as FaroPayload;
  return { tenantId: 'capture', appId, receivedAt: Date.now(), payload, itemCount: 1, bytes: 1 };
}

export function framesOf(batch: AcceptedBatch): SymbolicatedFrame[] {
  return (batch.payload.exceptions ?? []).flatMap(
    (exception) => exception.stacktrace?.frames ?? [],
  );
}

/** Runs the enricher over every exception fixture; returns the enriched batches. */
export async function enrichFixtures(enricher: Enricher): Promise<AcceptedBatch[]> {
  const batches = EXCEPTION_FIXTURES.map((file) => fixtureBatch(file));
  for (const batch of batches) await enricher.enrich(batch);
  return batches;
}

/**
 * Every frame of the minified bundle must now say what trace-mapping itself says for the
 * browser's position (1-based column in, so `colno - 1`; 0-based column out, so `+ 1`), and keep
 * the minified position. Returns how many frames were checked.
 */
export function expectFramesMatchTraceMapping(batches: AcceptedBatch[]): number {
  const reference = new TraceMap(JSON.parse(fixtureMap().toString('utf8')) as never);
  let checked = 0;
  for (const batch of batches) {
    for (const frame of framesOf(batch)) {
      if (frame.minified === undefined) {
        // Only frames outside the bundle (eval in the page, <anonymous>) stay as they were.
        expect(frame.filename).not.toBe(MINIFIED_URL);
        continue;
      }
      const { minified } = frame;
      expect(minified.filename).toBe(MINIFIED_URL);
      const truth = originalPositionFor(reference, {
        line: minified.lineno,
        column: minified.colno - 1,
      });
      if (truth.source === null)
        throw new Error(`trace-mapping has no mapping for ${minified.lineno}:${minified.colno}`);
      expect(frame.filename).toBe(truth.source);
      expect(frame.lineno).toBe(truth.line);
      expect(frame.colno).toBe(truth.column + 1);
      checked += 1;
    }
  }
  return checked;
}

/** The number of fixture frames that name the minified bundle with a position. */
export function minifiedFrameCount(): number {
  return EXCEPTION_FIXTURES.map((file) => fixtureBatch(file))
    .flatMap(framesOf)
    .filter((frame) => frame.filename === MINIFIED_URL && frame.colno !== undefined).length;
}
