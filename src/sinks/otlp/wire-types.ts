import type { DecodedLong, LongBits } from './wire-values.js';

/**
 * The protobuf-side shape of an OTLP traces request, as protobufjs encodes it from plain objects
 * and decodes it into messages (lowerCamelCase field names, bytes as Uint8Array, 64-bit integers
 * as `{low, high}`). The same interfaces describe both, so one function turns either into
 * OTLP/JSON. Fields are optional: a decoded message answers defaults from its prototype, a plain
 * object simply lacks them.
 */

export type Wire64 = LongBits | DecodedLong;

export interface WireAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Wire64;
  doubleValue?: number;
  arrayValue?: { values?: WireAnyValue[] } | null;
  kvlistValue?: { values?: WireKeyValue[] } | null;
  bytesValue?: Uint8Array;
}

export interface WireKeyValue {
  key?: string;
  value?: WireAnyValue | null;
}

export interface WireScope {
  name?: string;
  version?: string;
  attributes?: WireKeyValue[];
  droppedAttributesCount?: number;
}

export interface WireEvent {
  timeUnixNano?: Wire64;
  name?: string;
  attributes?: WireKeyValue[];
  droppedAttributesCount?: number;
}

export interface WireLink {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  traceState?: string;
  attributes?: WireKeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
}

export interface WireStatus {
  message?: string;
  code?: number;
}

export interface WireSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  traceState?: string;
  parentSpanId?: Uint8Array;
  flags?: number;
  name?: string;
  kind?: number;
  startTimeUnixNano?: Wire64;
  endTimeUnixNano?: Wire64;
  attributes?: WireKeyValue[];
  droppedAttributesCount?: number;
  events?: WireEvent[];
  droppedEventsCount?: number;
  links?: WireLink[];
  droppedLinksCount?: number;
  status?: WireStatus | null;
}

export interface WireScopeSpans {
  scope?: WireScope | null;
  spans?: WireSpan[];
  schemaUrl?: string;
}

export interface WireResourceSpans {
  resource?: { attributes?: WireKeyValue[]; droppedAttributesCount?: number } | null;
  scopeSpans?: WireScopeSpans[];
  schemaUrl?: string;
}

export interface WireTraceRequest {
  resourceSpans?: WireResourceSpans[];
}
