import { PharosError } from '../../errors/index.js';
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
