import type { IncomingMessage } from 'node:http';
import type { Admission, AdmissionRequest, Admitted } from '../admission/index.js';
import type { Idempotency } from '../admission/idempotency/index.js';
import type { LimitDecision, Limiter, PayloadUsage } from '../admission/limits/index.js';
import type { LoadShedder } from '../admission/shedding.js';
import type { SessionSampling } from '../admission/sampling.js';
import { checkBodyHeaders, parseJsonBody, readBody, validatePayload } from '../decode/index.js';
import type { Enricher } from '../enrich/types.js';
import { PharosError } from '../errors/index.js';
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
  /** Session-consistent sampling (the app's samplingRate), from the header or the body. */
  sampling: SessionSampling;
  /** `Idempotency-Key`: a batch accepted once is not ingested again within the window. */
  idempotency: Idempotency;
  /** Request rates before the body is read; item, byte and per-kind rates after parsing. */
  limiter: Limiter;
  /** 503 instead of taking more while the event loop lags. */
  shedder: LoadShedder;
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
 * What became of a request answered 202: ingested, or deliberately not (its session is sampled
 * out, or its Idempotency-Key says the batch was accepted already). The SDK must not retry
 * either, so both are 202 too.
 */
export type Received =
  | { outcome: 'accepted'; batch: AcceptedBatch }
  | { outcome: 'sampled-out' }
  | { outcome: 'duplicate' };

const SAMPLED_OUT: Received = { outcome: 'sampled-out' };
const DUPLICATE: Received = { outcome: 'duplicate' };

/**
 * The ingest data path, in order. This is the only place that knows the order of the stages:
 * admission (headers only) → sampling (the session header) → load shedding → request-rate
 * limits → body headers → idempotency claim → decode (body, JSON, model) → sampling (the body's
 * session, when there was no header) → payload limits (items, bytes, kinds) → enrich → fan-out to
 * the sinks → idempotency confirmation.
 * The HTTP layer calls `admit` first, so it can set CORS headers for every later answer.
 */
export function createCollectPipeline({
  admission,
  sampling,
  idempotency,
  limiter,
  shedder,
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

    /**
     * Reads, checks and queues the body of an admitted request; resolves once every sink has it,
     * or at once when the request is to be answered 202 without ingesting (a sampled-out
     * session: its body is never read; a duplicate batch).
     */
    async receive(admitted: Admitted, req: IncomingMessage): Promise<Received> {
      // Before anything else: the SDK always sends x-faro-session-id with a session, so a
      // dropped session costs no body read, no parse and no idempotency round trip.
      if (sampling.dropsBeforeBody(admitted, req.headers)) return SAMPLED_OUT;
      // A sampled-out session costs nothing, so it is neither shed nor charged to a limit.
      if (shedder.overloaded) {
        throw new PharosError('OVERLOADED', shedder.message(), {
          retryAfterSeconds: shedder.retryAfterSeconds,
        });
      }
      const tenantId = admitted.sender.tenantId;
      const requestDecision = limiter.checkRequest(tenantId, admitted.app);
      refuseIfLimited(requestDecision instanceof Promise ? await requestDecision : requestDecision);
      const encoding = checkBodyHeaders(req.headers, limits.maxBodyBytes);
      const ticket = await idempotency.begin(admitted, req.headers);
      if (ticket.outcome === 'duplicate') return DUPLICATE;
      if (ticket.outcome === 'in-progress') {
        throw new PharosError(
          'IDEMPOTENCY_IN_PROGRESS',
          'a request with the same Idempotency-Key is still being ingested; retry after Retry-After seconds',
          { retryAfterSeconds: 1 },
        );
      }
      // From here on the key is claimed: any failure releases it (the SDK's retry of a refused
      // or failed batch must be processed), a 202 confirms it.
      try {
        const { body, wireBytes } = await readBody(req, encoding, bodyLimits);
        metrics.requestBodyBytes.labels('wire', encoding).observe(wireBytes);
        if (encoding !== 'identity')
          metrics.requestBodyBytes.labels('decoded', encoding).observe(body.length);

        const { payload, itemCount } = validatePayload(
          parseJsonBody(body, limits.maxJsonDepth),
          limits.maxItemsPerRequest,
        );
        if (sampling.dropsAfterParse(admitted, req.headers, payload)) {
          await ticket.accepted();
          return SAMPLED_OUT;
        }
        const counts = countItemsByKind(payload);
        const usage: PayloadUsage = { items: itemCount, bytes: body.length, kinds: counts };
        const payloadDecision = limiter.checkPayload(tenantId, admitted.app, usage);
        refuseIfLimited(
          payloadDecision instanceof Promise ? await payloadDecision : payloadDecision,
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
        await ticket.accepted();

        for (const kind in counts) {
          const count = counts[kind as keyof typeof counts];
          if (count > 0) metrics.itemsReceived.labels(batch.tenantId, kind).inc(count);
        }
        return { outcome: 'accepted', batch };
      } catch (error) {
        await ticket.failed();
        throw error;
      }
    },
  };
}

/** A refusal becomes 429 with the bucket's `Retry-After` and a message naming the limit. */
function refuseIfLimited(decision: LimitDecision): void {
  if (decision.allowed) return;
  throw new PharosError('RATE_LIMITED', decision.message, {
    retryAfterSeconds: decision.retryAfterSeconds,
  });
}

export type CollectPipeline = ReturnType<typeof createCollectPipeline>;
