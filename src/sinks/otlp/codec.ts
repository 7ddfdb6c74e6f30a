import { PharosError } from '../../errors/index.js';
import { nextTurn } from '../../lib/next-turn.js';
import type { OtlpResourceSpans } from '../../model/index.js';
import { fromWireResourceSpans } from './from-wire.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RpcStatus } from './proto.js';
import { toWireResourceSpans } from './to-wire.js';
import type { WireTraceRequest } from './wire-types.js';
import { decimalOf, type DecodedLong } from './wire-values.js';

/** The two encodings OTLP/HTTP defines, by their media type. */
export type OtlpEncoding = 'protobuf' | 'json';

export const MEDIA_TYPE: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/**
 * An ExportTraceServiceRequest in either encoding. Both go through the same protobuf-side shape,
 * so the JSON is canonical OTLP/JSON (no SDK extras, in-range integers, int64 as strings) and the
 * two encodings always carry exactly the same data.
 */
export function encodeTraceRequest(
  resourceSpans: readonly OtlpResourceSpans[],
  encoding: OtlpEncoding,
): Buffer {
  const wire: WireTraceRequest = { resourceSpans: toWireResourceSpans(resourceSpans) };
  if (encoding === 'protobuf') {
    const bytes = ExportTraceServiceRequest.encode(wire).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const json = { resourceSpans: fromWireResourceSpans(wire.resourceSpans ?? []) };
  return Buffer.from(JSON.stringify(json));
}

/** Spans encoded per turn of the event loop by `encodeTraceRequestInSlices`: ~1 ms here. */
export const SPANS_PER_SLICE = 200;

/**
 * The same request as `encodeTraceRequest`, a slice of spans at a time with the event loop free
 * in between. A second's spans at 2,400 requests/s took 4–7 ms to encode in one piece, a pause
 * that every request arriving meanwhile waited out (docs/performance.md, finding 25).
 *
 * `resourceSpans` is a repeated field in both encodings: protobuf entries, each self-delimited,
 * are concatenated, and JSON entries are joined in the array. An entry with more spans than a
 * slice is sent as several entries of the same resource and scope, which OTLP allows.
 */
export async function encodeTraceRequestInSlices(
  resourceSpans: readonly OtlpResourceSpans[],
  encoding: OtlpEncoding,
  yieldToEventLoop: () => Promise<void> = nextTurn,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let sinceYield = 0;
  for (const piece of slicesOf(resourceSpans)) {
    if (sinceYield > 0 && sinceYield + piece.spans > SPANS_PER_SLICE) {
      await yieldToEventLoop();
      sinceYield = 0;
    }
    parts.push(encodeEntry(piece.entry, encoding));
    sinceYield += piece.spans;
  }
  if (encoding === 'protobuf') return Buffer.concat(parts);
  return Buffer.concat([
    Buffer.from('{"resourceSpans":['),
    ...parts.flatMap((part, index) => (index === 0 ? [part] : [COMMA, part])),
    Buffer.from(']}'),
  ]);
}

const COMMA = Buffer.from(',');

/** One resourceSpans entry: a whole request's field in protobuf, an array element in JSON. */
function encodeEntry(entry: OtlpResourceSpans, encoding: OtlpEncoding): Buffer {
  const wire = toWireResourceSpans([entry]);
  if (encoding === 'protobuf') {
    const bytes = ExportTraceServiceRequest.encode({ resourceSpans: wire }).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return Buffer.from(JSON.stringify(fromWireResourceSpans(wire)[0]));
}

/** The entries, with those of more than a slice of spans cut into entries of a slice each. */
function* slicesOf(
  resourceSpans: readonly OtlpResourceSpans[],
): Generator<{ entry: OtlpResourceSpans; spans: number }> {
  for (const entry of resourceSpans) {
    const scopes = entry.scopeSpans ?? [];
    const spans = scopes.reduce((sum, scope) => sum + (scope.spans?.length ?? 0), 0);
    if (spans <= SPANS_PER_SLICE) {
      yield { entry, spans };
      continue;
    }
    for (const scope of scopes) {
      const scopeSpans = scope.spans ?? [];
      for (let start = 0; start < scopeSpans.length; start += SPANS_PER_SLICE) {
        const slice = scopeSpans.slice(start, start + SPANS_PER_SLICE);
        yield {
          entry: { ...entry, scopeSpans: [{ ...scope, spans: slice }] },
          spans: slice.length,
        };
      }
    }
  }
}

/**
 * A binary ExportTraceServiceRequest → OTLP/JSON. Malformed protobuf (truncated, wrong wire
 * types, invalid UTF-8 in strings, nesting past protobufjs's limit of 100) is the sender's fault:
 * 400 PAYLOAD_INVALID. The result still has to pass the model (id lengths, required fields).
 */
export function decodeProtobufTraceRequest(body: Uint8Array): {
  resourceSpans: OtlpResourceSpans[];
} {
  let message: WireTraceRequest;
  try {
    message = ExportTraceServiceRequest.decode(body) as WireTraceRequest;
  } catch (error) {
    throw new PharosError(
      'PAYLOAD_INVALID',
      `the body is not a valid protobuf ExportTraceServiceRequest: ${(error as Error).message}`,
    );
  }
  return { resourceSpans: fromWireResourceSpans(message.resourceSpans ?? []) };
}

/** The success answer of OTLP/HTTP: an empty ExportTraceServiceResponse in the request's encoding. */
export function encodeEmptyTraceResponse(encoding: OtlpEncoding): Buffer {
  return encoding === 'protobuf' ? Buffer.alloc(0) : Buffer.from('{}');
}

export interface PartialSuccess {
  /** Spans the backend refused for good (they are not to be sent again). */
  rejectedSpans: number;
  errorMessage: string;
}

/**
 * The `partial_success` of a 2xx answer, if the backend reported one (rejected spans or a
 * warning). Unreadable bodies count as full success: the spec says an empty or absent
 * `partial_success` means everything was accepted, and a 2xx is never worth a retry.
 */
export function readPartialSuccess(body: Buffer, contentType: string): PartialSuccess | undefined {
  if (body.length === 0) return undefined;
  try {
    if (contentType.includes('protobuf')) {
      const message = ExportTraceServiceResponse.decode(body) as {
        partialSuccess?: { rejectedSpans?: DecodedLong; errorMessage?: string } | null;
      };
      const partial = message.partialSuccess;
      if (!partial) return undefined;
      return summarise(Number(decimalOf(partial.rejectedSpans, false)), partial.errorMessage);
    }
    const json = JSON.parse(body.toString('utf8')) as {
      partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string };
    };
    const partial = json.partialSuccess;
    if (!partial) return undefined;
    return summarise(Number(partial.rejectedSpans ?? 0), partial.errorMessage);
  } catch {
    return undefined;
  }
}

function summarise(rejectedSpans: number, errorMessage: unknown): PartialSuccess | undefined {
  const message = typeof errorMessage === 'string' ? errorMessage : '';
  const rejected = Number.isFinite(rejectedSpans) && rejectedSpans > 0 ? rejectedSpans : 0;
  return rejected === 0 && message === ''
    ? undefined
    : { rejectedSpans: rejected, errorMessage: message };
}

/**
 * The human part of a failure answer: OTLP/HTTP servers send a google.rpc.Status (protobuf or
 * JSON, matching the request); proxies in front of them send text or HTML. Falls back to the text.
 */
export function failureMessage(body: Buffer, contentType: string): string {
  try {
    if (contentType.includes('protobuf')) {
      const status = RpcStatus.decode(body) as { message?: string };
      if (status.message) return status.message;
    } else if (contentType.includes('json')) {
      const json = JSON.parse(body.toString('utf8')) as { message?: unknown };
      if (typeof json.message === 'string' && json.message !== '') return json.message;
    }
  } catch {
    // Not what the header claimed: show the text.
  }
  return body.toString('utf8');
}
