import { validatePayload } from '../../src/decode/index.js';
import type { AcceptedBatch, Sender } from '../../src/model/index.js';

/**
 * The tenant and app the fixtures were captured for, as admission would resolve them (the same
 * as `FIXTURE_APP` of test/helpers/pharos.ts, which is not imported to keep unit tests light).
 */
export const FIXTURE_SENDER: Sender = { tenantId: 'capture', appId: 'capture-app' };

/**
 * An accepted batch as the pipeline builds it: the body goes through the real Faro model
 * validation (which also stringifies map values), so sinks see exactly what ingest gives them.
 */
export function acceptedBatch(body: unknown, sender: Sender = FIXTURE_SENDER): AcceptedBatch {
  const json = JSON.stringify(body);
  const { payload, itemCount } = validatePayload(JSON.parse(json), 100_000);
  return { ...sender, receivedAt: Date.now(), payload, itemCount, bytes: Buffer.byteLength(json) };
}

/** A payload of one page: `meta` with its URL and environment (`null`: none), plus the items. */
export function pagePayload(
  url: string | undefined,
  items: Record<string, unknown>,
  environment: string | null = 'production',
): Record<string, unknown> {
  return {
    meta: {
      app: { name: 'shop', ...(environment === null ? {} : { environment }) },
      ...(url === undefined ? {} : { page: { url } }),
    },
    ...items,
  };
}

/** A `web-vitals` measurement as the Faro SDK sends it (own value, delta, attribution). */
export function webVital(
  name: 'lcp' | 'fcp' | 'ttfb' | 'inp' | 'cls',
  value: number,
  rating?: string,
): Record<string, unknown> {
  return {
    type: 'web-vitals',
    values: { [name]: value, delta: value, time_to_first_byte: 12.5 },
    timestamp: '2026-11-25T02:25:35.046Z',
    context: {
      id: `v6-${name}-${value}`,
      ...(rating === undefined ? {} : { rating }),
      navigation_type: 'navigate',
    },
  };
}
