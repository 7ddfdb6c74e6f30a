import type { OtlpAnyValue, OtlpKeyValue, OtlpResourceSpans } from '../../model/index.js';
import type {
  Wire64,
  WireAnyValue,
  WireEvent,
  WireKeyValue,
  WireLink,
  WireResourceSpans,
  WireScopeSpans,
  WireSpan,
} from './wire-types.js';
import { bytesToBase64, bytesToHex, decimalOf } from './wire-values.js';

type SpanJson = NonNullable<NonNullable<OtlpResourceSpans['scopeSpans']>[number]['spans']>[number];

/**
 * The protobuf-side shape (a decoded message, or what to-wire.ts built) → OTLP/JSON in the form
 * the OpenTelemetry JS exporter writes and Pharos keeps: lowerCamelCase keys, lower-case hex ids,
 * 64-bit integers as decimal strings, enums as integers. Required fields are always written;
 * optional ones only when they differ from their default, as proto3 JSON does.
 */
export function fromWireResourceSpans(
  resourceSpans: readonly WireResourceSpans[],
): OtlpResourceSpans[] {
  return resourceSpans.map((entry) => {
    const out: OtlpResourceSpans = {
      resource: {
        attributes: fromWireAttributes(entry.resource?.attributes),
        ...nonZero('droppedAttributesCount', entry.resource?.droppedAttributesCount),
      },
      scopeSpans: (entry.scopeSpans ?? []).map(fromWireScopeSpans),
    };
    if (entry.schemaUrl) out.schemaUrl = entry.schemaUrl;
    return out;
  });
}

function fromWireScopeSpans(
  entry: WireScopeSpans,
): NonNullable<OtlpResourceSpans['scopeSpans']>[number] {
  const out: NonNullable<OtlpResourceSpans['scopeSpans']>[number] = {
    spans: (entry.spans ?? []).map(fromWireSpan),
  };
  const scope = entry.scope;
  if (scope) {
    out.scope = {
      name: scope.name ?? '',
      ...(scope.version ? { version: scope.version } : {}),
      ...(scope.attributes && scope.attributes.length > 0
        ? { attributes: fromWireAttributes(scope.attributes) }
        : {}),
      ...nonZero('droppedAttributesCount', scope.droppedAttributesCount),
    };
  }
  if (entry.schemaUrl) out.schemaUrl = entry.schemaUrl;
  return out;
}

function fromWireSpan(span: WireSpan): SpanJson {
  const out: SpanJson = {
    traceId: bytesToHex(span.traceId),
    spanId: bytesToHex(span.spanId),
    name: span.name ?? '',
    kind: span.kind ?? 0,
    startTimeUnixNano: nanos(span.startTimeUnixNano),
    endTimeUnixNano: nanos(span.endTimeUnixNano),
    attributes: fromWireAttributes(span.attributes),
  };
  const parentSpanId = bytesToHex(span.parentSpanId);
  if (parentSpanId) out.parentSpanId = parentSpanId;
  if (span.traceState) out.traceState = span.traceState;
  Object.assign(
    out,
    nonZero('flags', span.flags),
    nonZero('droppedAttributesCount', span.droppedAttributesCount),
  );
  if (span.events && span.events.length > 0) out.events = span.events.map(fromWireEvent);
  Object.assign(out, nonZero('droppedEventsCount', span.droppedEventsCount));
  if (span.links && span.links.length > 0) out.links = span.links.map(fromWireLink);
  Object.assign(out, nonZero('droppedLinksCount', span.droppedLinksCount));
  if (span.status) {
    out.status = {
      code: span.status.code ?? 0,
      ...(span.status.message ? { message: span.status.message } : {}),
    };
  }
  return out;
}

function fromWireEvent(event: WireEvent): NonNullable<SpanJson['events']>[number] {
  return {
    timeUnixNano: nanos(event.timeUnixNano),
    name: event.name ?? '',
    attributes: fromWireAttributes(event.attributes),
    ...nonZero('droppedAttributesCount', event.droppedAttributesCount),
  };
}

function fromWireLink(link: WireLink): NonNullable<SpanJson['links']>[number] {
  return {
    traceId: bytesToHex(link.traceId),
    spanId: bytesToHex(link.spanId),
    ...(link.traceState ? { traceState: link.traceState } : {}),
    attributes: fromWireAttributes(link.attributes),
    ...nonZero('droppedAttributesCount', link.droppedAttributesCount),
    ...nonZero('flags', link.flags),
  };
}

function fromWireAttributes(attributes: readonly WireKeyValue[] | undefined): OtlpKeyValue[] {
  if (!attributes) return [];
  return attributes.map((attribute) =>
    attribute.value
      ? { key: attribute.key ?? '', value: fromWireAnyValue(attribute.value) }
      : { key: attribute.key ?? '' },
  );
}

/** proto3 JSON spells non-finite doubles as strings; JSON itself has no way to write them. */
function doubleJson(value: number): number {
  if (Number.isFinite(value)) return value;
  return (Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity') as unknown as number;
}

/**
 * Which oneof member is set is read from own properties: a decoded message answers every field
 * from its prototype (defaults), but only the member that was on the wire is its own.
 */
function fromWireAnyValue(value: WireAnyValue): OtlpAnyValue {
  const own = (key: keyof WireAnyValue) => Object.hasOwn(value, key);
  if (own('stringValue') && typeof value.stringValue === 'string')
    return { stringValue: value.stringValue };
  if (own('boolValue') && typeof value.boolValue === 'boolean')
    return { boolValue: value.boolValue };
  if (own('intValue') && value.intValue != null)
    return { intValue: decimalOf(value.intValue, false) };
  if (own('doubleValue') && typeof value.doubleValue === 'number')
    return { doubleValue: doubleJson(value.doubleValue) };
  if (own('arrayValue') && value.arrayValue)
    return { arrayValue: { values: (value.arrayValue.values ?? []).map(fromWireAnyValue) } };
  if (own('kvlistValue') && value.kvlistValue)
    return { kvlistValue: { values: fromWireAttributes(value.kvlistValue.values) } };
  if (own('bytesValue') && value.bytesValue) return { bytesValue: bytesToBase64(value.bytesValue) };
  return {};
}

function nanos(value: Wire64 | undefined): string {
  return decimalOf(value, true);
}

function nonZero<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value ? ({ [key]: value } as Record<K, number>) : {};
}
