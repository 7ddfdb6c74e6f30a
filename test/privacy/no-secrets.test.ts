import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintException, pharosFingerprintOf } from '../../src/enrich/fingerprint/index.js';
import type { FaroException, FaroPayload } from '../../src/model/index.js';
import { TelemetryStore } from '../../src/store/index.js';
import { collectRequests, fixtureBody } from '../helpers/fixtures.js';
import { enrichLikeIngest } from './enrich-like-ingest.js';
import { FORBIDDEN, LEAKY_TEXT, SECRETS, leakyCopy } from './secrets.js';

/** The enrich stage as the pipeline runs it: privacy, then fingerprints. */
const enrich = (payload: FaroPayload) => enrichLikeIngest(payload);

function leftovers(text: string): string[] {
  return FORBIDDEN.filter((secret) => text.includes(secret));
}

const fixtures = collectRequests.map((request) => ({
  file: request.file,
  payload: fixtureBody(request).json as FaroPayload,
}));

describe('nothing the rules redact leaves the enrich stage', () => {
  it('the captured payloads lose the user e-mail everywhere (meta, spans, events)', () => {
    for (const { file, payload } of fixtures) {
      expect(JSON.stringify(payload), file).toContain('alice@example.com');
      const batch = enrich(structuredClone(payload));
      expect(JSON.stringify(batch.payload), file).not.toContain('alice@example.com');
    }
  });

  it.each(fixtures.map(({ file, payload }) => [file, payload] as const))(
    'every secret kind in every field of %s',
    (_file, payload) => {
      const leaky = leakyCopy(payload);
      // The poisoned copy holds every secret, and Pharos would accept it.
      expect(leftovers(JSON.stringify(leaky))).toEqual(FORBIDDEN);
      const batch = enrich(leaky);
      expect(leftovers(JSON.stringify(batch.payload))).toEqual([]);
    },
  );

  it('exceptions keep their group: scrubbing does not change a fingerprint', () => {
    for (const { file, payload } of fixtures) {
      for (const exception of payload.exceptions ?? []) {
        const leaky: FaroException = {
          ...exception,
          value: `${exception.value ?? ''} ${LEAKY_TEXT}`,
        };
        const batch = enrich({ exceptions: [structuredClone(leaky)] });
        const scrubbed = batch.payload.exceptions?.[0] as FaroException;
        expect(scrubbed.value, file).not.toContain(SECRETS.email);
        expect(pharosFingerprintOf(scrubbed), file).toBe(fingerprintException(leaky));
      }
    }
  });
});

describe('nothing redacted reaches the embedded store', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-privacy-store-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the store file holds no secret after the leaky fixtures are written', () => {
    const store = new TelemetryStore(join(dir, 'telemetry.db'));
    const batches = fixtures.map(({ payload }) => enrich(leakyCopy(payload)));
    const written = store.write(batches);
    expect(written.items).toBe(batches.reduce((sum, batch) => sum + batch.itemCount, 0));
    const stored = store.query({ appId: 'capture-app', limit: 1000 });
    expect(stored.length).toBe(written.items);
    expect(leftovers(JSON.stringify(stored))).toEqual([]);
    store.close();
    // Every byte on disk: items, metas, indexes, the WAL.
    for (const file of readdirSync(dir)) {
      expect(leftovers(readFileSync(join(dir, file)).toString('latin1')), file).toEqual([]);
    }
  });
});
