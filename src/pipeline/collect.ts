import type { IncomingMessage } from 'node:http';
import type { Admission, AdmissionRequest, Admitted } from '../admission/index.js';
import { checkBodyHeaders, parseJsonBody, readBody, validatePayload } from '../decode/index.js';
import type { Enricher } from '../enrich/types.js';
import type { Metrics } from '../metrics/index.js';
import { countItemsByKind, type AcceptedBatch } from '../model/index.js';
import type { Fanout } from '../sinks/index.js';

export interface CollectLimits {
  maxBodyBytes: number;
  maxJsonDepth: number;
  maxItemsPerRequest: number;
  bodyTimeoutMs: number;
}

export interface CollectPipelineDeps {
  admission: Admission;
  fanout: Fanout;
  metrics: Metrics;
  limits: CollectLimits;
  /**
   * Run in order after validation and before fan-out. Symbolication goes first, so that
   * fingerprints hash original frames.
   */
  enrichers?: readonly Enricher[];
  clock?: () => number;
}

/**
 * The ingest data path, in order. This is the only place that knows the order of the stages:
 * admission (headers only) → decode (headers, body, JSON, model) → fan-out to the sinks.
 * The HTTP layer calls `admit` first, so it can set CORS headers for every later answer.
 */
export function createCollectPipeline({
  admission,
  fanout,
  metrics,
  limits,
  enrichers = [],
  clock = Date.now,
}: CollectPipelineDeps) {
  const bodyLimits = { maxBytes: limits.maxBodyBytes, timeoutMs: limits.bodyTimeoutMs };

  return {
    admit(request: AdmissionRequest): Admitted {
      return admission.admit(request);
    },

    admitPreflight(pathKey: string | undefined, origin: string): string {
      return admission.admitPreflight(pathKey, origin);
    },

    /** Reads, checks and queues the body of an admitted request; resolves once every sink has it. */
    async receive(admitted: Admitted, req: IncomingMessage): Promise<AcceptedBatch> {
      const encoding = checkBodyHeaders(req.headers, limits.maxBodyBytes);
      const { body, wireBytes } = await readBody(req, encoding, bodyLimits);
      metrics.requestBodyBytes.labels('wire', encoding).observe(wireBytes);
      if (encoding !== 'identity')
        metrics.requestBodyBytes.labels('decoded', encoding).observe(body.length);

      const { payload, itemCount } = validatePayload(
        parseJsonBody(body, limits.maxJsonDepth),
        limits.maxItemsPerRequest,
      );
      const batch: AcceptedBatch = {
        ...admitted.sender,
        receivedAt: clock(),
        payload,
        itemCount,
        bytes: body.length,
      };
      for (const enricher of enrichers) {
        // Synchronous unless a source map must be loaded; enrichers never throw for telemetry.
        const pending = enricher.enrich(batch);
        if (pending) await pending;
      }
      const durable = fanout.accept(batch);
      if (durable !== undefined) await durable;

      const counts = countItemsByKind(payload);
      for (const kind in counts) {
        const count = counts[kind as keyof typeof counts];
        if (count > 0) metrics.itemsReceived.labels(batch.tenantId, kind).inc(count);
      }
      return batch;
    },
  };
}

export type CollectPipeline = ReturnType<typeof createCollectPipeline>;
