import { TraceMap } from '@jridgewell/trace-mapping';
import { describe, expect, it } from 'vitest';
import type { AcceptedBatch } from '../../model/index.js';
import { createSourcemapEnricher } from './enricher.js';
import type { FrameContext, FrameResult, MapLookup } from './resolver.js';

const map = new TraceMap({
  version: 3,
  sources: ['src/app.ts'],
  names: [],
  mappings: [[[0, 0, 9, 0]]],
});

function batch(filenames: string[]): AcceptedBatch {
  return {
    tenantId: 'shop',
    appId: 'web',
    receivedAt: 0,
    itemCount: 1,
    bytes: 1,
    payload: {
      meta: { app: { bundleId: 'b1', release: 'r1' } },
      exceptions: [
        {
          type: 'Error',
          stacktrace: { frames: filenames.map((filename) => ({ filename, lineno: 1, colno: 1 })) },
        },
      ],
    },
  };
}

function setup(
  lookup: (context: FrameContext, filename: string) => MapLookup | Promise<MapLookup>,
) {
  const results: FrameResult[] = [];
  const contexts: FrameContext[] = [];
  const enricher = createSourcemapEnricher(
    {
      lookup: (context, filename) => {
        contexts.push(context);
        return lookup(context, filename);
      },
    },
    (result) => results.push(result),
    { maxWaitMs: 50, maxFilesPerBatch: 3 },
  );
  return { enricher, results, contexts };
}

describe('the source-map enricher', () => {
  it('looks each file up once per batch, with the sender and the payload bundle and release', async () => {
    const { enricher, results, contexts } = setup(() => Promise.resolve({ map }));
    const enriched = batch(['https://a/x.js', 'https://a/x.js', 'https://a/y.js']);
    await enricher.enrich(enriched);
    expect(contexts).toEqual([
      { tenantId: 'shop', appId: 'web', bundleId: 'b1', release: 'r1' },
      { tenantId: 'shop', appId: 'web', bundleId: 'b1', release: 'r1' },
    ]);
    expect(results).toEqual(['resolved', 'resolved', 'resolved']);
    expect(enriched.payload.exceptions?.[0]?.stacktrace?.frames?.[0]).toMatchObject({
      filename: 'src/app.ts',
      lineno: 10,
      colno: 1,
    });
  });

  it('stops waiting after maxWaitMs: frames still loading keep their values, counted as timeout', async () => {
    const { enricher, results } = setup((_, filename) =>
      filename.includes('slow')
        ? new Promise((resolve) => setTimeout(() => resolve({ map }), 500))
        : { map },
    );
    const enriched = batch(['https://a/slow.js', 'https://a/fast.js']);
    const started = Date.now();
    await enricher.enrich(enriched);
    expect(Date.now() - started).toBeLessThan(400);
    expect(results).toEqual(['timeout', 'resolved']);
    expect(enriched.payload.exceptions?.[0]?.stacktrace?.frames?.[0]).toEqual({
      filename: 'https://a/slow.js',
      lineno: 1,
      colno: 1,
    });
  });

  it('looks up at most maxFilesPerBatch distinct files', () => {
    const { enricher, results, contexts } = setup(() => ({ map }));
    const files = Array.from({ length: 10 }, (_, index) => `https://a/f${index}.js`);
    expect(enricher.enrich(batch(files))).toBeUndefined();
    expect(contexts).toHaveLength(3);
    expect(results.filter((result) => result === 'resolved')).toHaveLength(3);
    expect(results.filter((result) => result === 'no_map')).toHaveLength(7);
  });

  it('leaves batches without exceptions alone, synchronously', () => {
    const { enricher, contexts } = setup(() => ({ map }));
    const empty: AcceptedBatch = { ...batch([]), payload: { logs: [{ message: 'x' }] } };
    expect(enricher.enrich(empty)).toBeUndefined();
    expect(contexts).toEqual([]);
  });
});
