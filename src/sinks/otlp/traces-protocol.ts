import { PharosError } from '../../errors/index.js';
import { nextTurn } from '../../lib/next-turn.js';
import type { AcceptedBatch, OtlpResourceSpans } from '../../model/index.js';
import { VERSION } from '../../version.js';
import { gzipBounded } from '../bounded-gzip.js';
import type { SendOutcome, SinkProtocol, Unit } from '../delivery/types.js';
import {
  MEDIA_TYPE,
  encodeTraceRequestInSlices,
  failureMessage,
  readPartialSuccess,
  type OtlpEncoding,
  type PartialSuccess,
} from './codec.js';
import {
  classifyStatus,
  failedRequestOutcome,
  readCapped,
  truncateDetail,
} from './http-outcome.js';
import { ResourceSpansMerger } from './merge.js';
import { resourceDefaults, withResourceAttributes } from './resource.js';

export interface TracesProtocolOptions {
  /**
   * The tenant's OTLP/HTTP endpoint: a base URL (`http://tempo:4318`, `https://host/otlp`), to
   * which `/v1/traces` is appended as OTEL_EXPORTER_OTLP_ENDPOINT does, or the full traces URL
   * (any URL whose path already ends in `/v1/traces`).
   */
  url: string;
  /** Sent as `X-Scope-OrgID` (Tempo, Grafana Cloud, Mimir multi-tenancy) when set and not empty. */
  orgId?: string | undefined;
  /** Extra request headers (`Authorization` …). Content headers and the org id take precedence. */
  headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Default `protobuf`. Every OTLP/HTTP receiver takes binary protobuf, while JSON is optional
   * and some backends refuse it (Elastic APM Server, Seq); the OTLP exporter spec makes
   * `http/protobuf` the default for the same reason. It is also about half the size of the JSON
   * before gzip (still smaller after) and encodes faster, since JSON goes through the same
   * canonical conversion and then a second walk. `json` is there for receivers that want it, and for reading
   * the wire in a debugger.
   */
  encoding?: OtlpEncoding | undefined;
  /** Gzip request bodies (default true): every OTLP/HTTP server must accept gzip. */
  gzip?: boolean | undefined;
  /** Characters of a backend's answer kept in a rejection's `detail` (default 512). */
  maxDetailChars?: number | undefined;
  /**
   * Called when a 2xx answer reports a partial success: spans the backend refused for good, or a
   * warning. The outcome is still `delivered`; wire this to a log line and a dropped-spans counter.
   */
  onPartialSuccess?: ((partial: PartialSuccess) => void) | undefined;
}

/** A unit of the traces sink: one batch's spans, enriched, as an ExportTraceServiceRequest body. */
export interface TracesUnitValue {
  resourceSpans: OtlpResourceSpans[];
}

/** Spool format version; bump it (and keep reading the old one) if the value's shape changes. */
const SPOOL_FORMAT = 1;
/** Most bytes of an answer read: partial-success bodies and error texts are small. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * The traces sink's protocol: takes the `traces` of each accepted batch (Faro's OTLP/JSON, or a
 * backend's spans from the OTLP intake), adds the resource attributes Alloy never adds, and
 * pushes groups of them to the tenant's OTLP/HTTP traces endpoint. The delivery framework does
 * the queueing, spooling and retrying around it.
 */
export function createTracesProtocol(
  options: TracesProtocolOptions,
): SinkProtocol<TracesUnitValue> {
  const url = tracesUrl(options.url);
  const encoding = options.encoding ?? 'protobuf';
  const useGzip = options.gzip ?? true;
  const maxDetailChars = options.maxDetailChars ?? 512;
  const headers = requestHeaders(options, encoding, useGzip);

  /** A throwing callback must not turn a delivered push into a retry (and a duplicate). */
  const reportPartialSuccess = (answer: Buffer, contentType: string): void => {
    const partial = readPartialSuccess(answer, contentType);
    if (!partial || !options.onPartialSuccess) return;
    try {
      options.onPartialSuccess(partial);
    } catch {
      // Reporting is best effort.
    }
  };

  return {
    kind: 'traces',

    select(batch: AcceptedBatch): Unit<TracesUnitValue> | undefined {
      const resourceSpans = batch.payload.traces?.resourceSpans;
      if (!resourceSpans) return undefined;
      const spans = countSpans(resourceSpans);
      if (spans === 0) return undefined;
      const defaults = resourceDefaults(batch);
      const value: TracesUnitValue = {
        resourceSpans: withResourceAttributes(
          resourceSpans.filter(hasSpans),
          defaults,
          batch.tenantId,
        ),
      };
      return { value, bytes: estimateBytes(batch, spans, defaults.length), items: { span: spans } };
    },

    serialize(value: TracesUnitValue): Buffer {
      return Buffer.from(JSON.stringify({ v: SPOOL_FORMAT, resourceSpans: value.resourceSpans }));
    },

    deserialize(data: Buffer): TracesUnitValue {
      const parsed = JSON.parse(data.toString('utf8')) as { v?: unknown; resourceSpans?: unknown };
      if (parsed.v !== SPOOL_FORMAT || !Array.isArray(parsed.resourceSpans)) {
        throw new Error(`not a traces spool record (format ${String(parsed.v)})`);
      }
      return { resourceSpans: parsed.resourceSpans as OtlpResourceSpans[] };
    },

    async send(values: readonly TracesUnitValue[], signal: AbortSignal): Promise<SendOutcome> {
      const resourceSpans = await mergeInSlices(values);
      if (resourceSpans.length === 0) return { status: 'delivered' };
      let body: Buffer;
      try {
        body = await encodeTraceRequestInSlices(resourceSpans, encoding);
        if (useGzip) body = await gzipBounded(body);
      } catch (error) {
        // Encoding is total for everything the model admits; this is a bug, not a backend answer.
        return { status: 'rejected', reason: 'encode_failed', detail: (error as Error).message };
      }
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal,
          // A redirect is a configuration error: report it (retry) rather than re-post elsewhere.
          redirect: 'manual',
        });
        const answer = await readCapped(response, MAX_ANSWER_BYTES);
        const contentType = response.headers.get('content-type') ?? '';
        const outcome = classifyStatus(response.status, response.headers.get('retry-after'), () =>
          truncateDetail(failureMessage(answer, contentType), maxDetailChars),
        );
        if (outcome.status === 'delivered') reportPartialSuccess(answer, contentType);
        return outcome;
      } catch {
        return failedRequestOutcome(signal);
      }
    },
  };
}

/** Units merged per turn of the event loop (~10 µs each): ~1 ms. */
const UNITS_PER_MERGE_SLICE = 100;

/** `mergeResourceSpans`, with the event loop free every `UNITS_PER_MERGE_SLICE` units. */
async function mergeInSlices(values: readonly TracesUnitValue[]): Promise<OtlpResourceSpans[]> {
  const merger = new ResourceSpansMerger();
  for (let index = 0; index < values.length; index++) {
    if (index > 0 && index % UNITS_PER_MERGE_SLICE === 0) await nextTurn();
    merger.add(values[index]!.resourceSpans);
  }
  return merger.result();
}

/** Base URL → `<base>/v1/traces`; a URL already ending in `/v1/traces` is used as it is. */
export function tracesUrl(configured: string): string {
  let url: URL;
  try {
    url = new URL(configured);
  } catch {
    throw new PharosError(
      'CONFIG_INVALID',
      `traces URL ${JSON.stringify(configured)} is not a URL`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PharosError(
      'CONFIG_INVALID',
      `traces URL ${JSON.stringify(configured)} must be http:// or https://`,
    );
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/v1/traces')) url.pathname = `${path}/v1/traces`;
  return url.toString();
}

function requestHeaders(
  options: TracesProtocolOptions,
  encoding: OtlpEncoding,
  useGzip: boolean,
): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': `pharos/${VERSION}` };
  for (const [name, value] of Object.entries(options.headers ?? {}))
    headers[name.toLowerCase()] = value;
  headers['content-type'] = MEDIA_TYPE[encoding];
  if (useGzip) headers['content-encoding'] = 'gzip';
  else delete headers['content-encoding'];
  if (options.orgId) headers['x-scope-orgid'] = options.orgId;
  return headers;
}

/**
 * The unit's share of the batch's decoded size (spans over items) plus the attributes added.
 * Exact measuring (JSON.stringify) would cost ~15 µs per batch on the request path, as much as
 * everything else the sink does there; the bounds only need the order of magnitude.
 */
function estimateBytes(batch: AcceptedBatch, spans: number, added: number): number {
  const share = batch.itemCount > spans ? spans / batch.itemCount : 1;
  return Math.ceil(batch.bytes * share) + (added + 1) * ADDED_ATTRIBUTE_BYTES;
}

/** Roughly what one added string attribute weighs in OTLP/JSON. */
const ADDED_ATTRIBUTE_BYTES = 64;

function countSpans(resourceSpans: readonly OtlpResourceSpans[]): number {
  let spans = 0;
  for (const entry of resourceSpans)
    for (const scope of entry.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
  return spans;
}

function hasSpans(entry: OtlpResourceSpans): boolean {
  return (entry.scopeSpans ?? []).some((scope) => (scope.spans?.length ?? 0) > 0);
}
