import type { OtlpAnyValue, OtlpKeyValue, OtlpResourceSpans } from '../../model/index.js';
import type {
  WireAnyValue,
  WireEvent,
  WireKeyValue,
  WireLink,
  WireResourceSpans,
  WireScopeSpans,
  WireSpan,
} from './wire-types.js';
import { base64ToBytes, hexToBytes, int64Bits, uint32Of, uint64Bits } from './wire-values.js';

/**
 * OTLP/JSON as Pharos holds it (the Faro model: hex ids, nanos as strings or numbers, int64 as
 * strings or numbers) → the protobuf-side shape. Total by design (see wire-values.ts): nothing the
 * model admits makes it throw. Fields at their default value are left out, as proto3 would.
 * Fields OTLP does not define (an SDK's extras) are dropped: neither encoding can carry them.
 */
export function toWireResourceSpans(
  resourceSpans: readonly OtlpResourceSpans[],
): WireResourceSpans[] {
  return resourceSpans.map((entry) => {
    const out: WireResourceSpans = {
      scopeSpans: (entry.scopeSpans ?? []).map(toWireScopeSpans),
    };
    if (entry.resource) {
      out.resource = {
        attributes: toWireAttributes(entry.resource.attributes),
        ...counted('droppedAttributesCount', field(entry.resource, 'droppedAttributesCount')),
      };
    }
    if (entry.schemaUrl) out.schemaUrl = entry.schemaUrl;
    return out;
  });
}

type ScopeSpansJson = NonNullable<OtlpResourceSpans['scopeSpans']>[number];
type SpanJson = NonNullable<ScopeSpansJson['spans']>[number];

function toWireScopeSpans(entry: ScopeSpansJson): WireScopeSpans {
  const out: WireScopeSpans = { spans: (entry.spans ?? []).map(toWireSpan) };
  if (entry.scope) {
    out.scope = {
      ...(entry.scope.name ? { name: entry.scope.name } : {}),
      ...(entry.scope.version ? { version: entry.scope.version } : {}),
      attributes: toWireAttributes(entry.scope.attributes),
      ...counted('droppedAttributesCount', field(entry.scope, 'droppedAttributesCount')),
    };
  }
  if (entry.schemaUrl) out.schemaUrl = entry.schemaUrl;
  return out;
}

function toWireSpan(span: SpanJson): WireSpan {
  const out: WireSpan = {
    traceId: hexToBytes(span.traceId),
    spanId: hexToBytes(span.spanId),
    name: span.name,
    startTimeUnixNano: uint64Bits(span.startTimeUnixNano),
    endTimeUnixNano: uint64Bits(span.endTimeUnixNano),
    attributes: toWireAttributes(span.attributes),
  };
  if (span.parentSpanId) out.parentSpanId = hexToBytes(span.parentSpanId);
  if (span.traceState) out.traceState = span.traceState;
  if (span.kind) out.kind = uint32Of(span.kind);
  Object.assign(
    out,
    counted('flags', span.flags),
    counted('droppedAttributesCount', span.droppedAttributesCount),
    counted('droppedEventsCount', field(span, 'droppedEventsCount')),
    counted('droppedLinksCount', field(span, 'droppedLinksCount')),
  );
  if (span.events && span.events.length > 0) out.events = span.events.map(toWireEvent);
  if (span.links && span.links.length > 0) out.links = span.links.map(toWireLink);
  if (span.status) {
    out.status = {
      ...(span.status.code ? { code: uint32Of(span.status.code) } : {}),
      ...(span.status.message ? { message: span.status.message } : {}),
    };
  }
  return out;
}

function toWireEvent(event: NonNullable<SpanJson['events']>[number]): WireEvent {
  return {
    timeUnixNano: uint64Bits(event.timeUnixNano),
    name: event.name,
    attributes: toWireAttributes(event.attributes),
    ...counted('droppedAttributesCount', field(event, 'droppedAttributesCount')),
  };
}

function toWireLink(link: NonNullable<SpanJson['links']>[number]): WireLink {
  return {
    traceId: hexToBytes(link.traceId),
    spanId: hexToBytes(link.spanId),
    ...(link.traceState ? { traceState: link.traceState } : {}),
    attributes: toWireAttributes(link.attributes),
    ...counted('droppedAttributesCount', field(link, 'droppedAttributesCount')),
    ...counted('flags', field(link, 'flags')),
  };
}

function toWireAttributes(attributes: readonly OtlpKeyValue[] | undefined): WireKeyValue[] {
  if (!attributes) return [];
  return attributes.map((attribute) =>
    attribute.value === undefined
      ? { key: attribute.key }
      : { key: attribute.key, value: toWireAnyValue(attribute.value) },
  );
}

const NON_FINITE: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/**
 * AnyValue is a oneof: exactly one member goes on the wire. A hand-written sender may set two;
 * the first in field-number order wins, so the choice is the same in both encodings.
 */
function toWireAnyValue(value: OtlpAnyValue): WireAnyValue {
  if (value.stringValue !== undefined) return { stringValue: String(value.stringValue) };
  if (value.boolValue !== undefined) return { boolValue: value.boolValue === true };
  if (value.intValue !== undefined) return { intValue: int64Bits(value.intValue) };
  if (value.doubleValue !== undefined) {
    // proto3 JSON writes non-finite doubles as strings; accept them should they arrive that way.
    const raw: unknown = value.doubleValue;
    return { doubleValue: typeof raw === 'string' ? (NON_FINITE[raw] ?? 0) : Number(raw) };
  }
  if (value.arrayValue !== undefined)
    return { arrayValue: { values: (value.arrayValue.values ?? []).map(toWireAnyValue) } };
  if (value.kvlistValue !== undefined)
    return { kvlistValue: { values: toWireAttributes(value.kvlistValue.values) } };
  if (value.bytesValue !== undefined) return { bytesValue: base64ToBytes(value.bytesValue) };
  return {};
}

/** A fixed32/uint32 field, left out when zero (or not a number at all). */
function counted<K extends string>(key: K, value: unknown): Partial<Record<K, number>> {
  const number = uint32Of(value);
  return number === 0 ? {} : ({ [key]: number } as Record<K, number>);
}

/** A field the Faro model keeps but does not type (OTLP fields Faro never sends). */
function field(object: object, key: string): unknown {
  return (object as Record<string, unknown>)[key];
}
