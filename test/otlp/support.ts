import { validatePayload } from '../../src/decode/index.js';
import {
  countItems,
  type AcceptedBatch,
  type FaroPayload,
  type OtlpResourceSpans,
} from '../../src/model/index.js';
import { readFixtureJson } from '../helpers/fixtures.js';
import type {
  AnyValueView,
  KeyValueView,
  ReceivedSpan,
  SpanView,
} from '../helpers/otlp-receiver.js';

/** The captured SDK batches that carry traces. */
export const CLICK_FETCH_FIXTURE =
  '11-main-click-user-action-fetch--ev_faro.tracing.fetch+traces.json';
export const PLAIN_FETCH_FIXTURE = '14-main-plain-fetch--ev_faro.tracing.fetch+traces.json';
/** What `@grafana/faro-transport-otlp-http` POSTed to an OTLP/HTTP traces endpoint (JSON). */
export const OTLP_EXPORT_FIXTURE = '48-otlp-click-fetch--otlp-traces.json';

/** A fresh copy of a fixture, checked by the real Faro model as ingest would. */
export function fixturePayload(file: string): FaroPayload {
  return validatePayload(structuredClone(readFixtureJson(file)), 5000).payload;
}

export function batchOf(
  payload: FaroPayload,
  sender: { tenantId?: string; appId?: string } = {},
): AcceptedBatch {
  return {
    tenantId: sender.tenantId ?? 'acme',
    appId: sender.appId ?? 'shop-web',
    receivedAt: Date.now(),
    payload,
    itemCount: countItems(payload),
    bytes: JSON.stringify(payload).length,
  };
}

export function spansOf(resourceSpans: readonly OtlpResourceSpans[] | undefined) {
  return (resourceSpans ?? []).flatMap((entry) =>
    (entry.scopeSpans ?? []).flatMap((scope) => scope.spans ?? []),
  );
}

type JsonSpan = ReturnType<typeof spansOf>[number];
type JsonKeyValue = NonNullable<JsonSpan['attributes']>[number];
type JsonAnyValue = NonNullable<JsonKeyValue['value']>;

/**
 * A span as the SDK sent it, in the form the reference decoder reports it: defaults filled in,
 * int64 as decimal strings. Written here, independently of Pharos's codec, so that a codec bug
 * cannot hide itself.
 */
export function expectedSpan(span: JsonSpan): SpanView {
  const extra = span as Record<string, unknown>;
  return {
    traceId: span.traceId.toLowerCase(),
    spanId: span.spanId.toLowerCase(),
    parentSpanId: (span.parentSpanId ?? '').toLowerCase(),
    traceState: span.traceState ?? '',
    flags: span.flags ?? 0,
    name: span.name,
    kind: span.kind ?? 0,
    startTimeUnixNano: String(span.startTimeUnixNano),
    endTimeUnixNano: String(span.endTimeUnixNano ?? 0),
    attributes: expectedAttributes(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount ?? 0,
    events: (span.events ?? []).map((event) => ({
      timeUnixNano: String(event.timeUnixNano ?? 0),
      name: event.name,
      attributes: expectedAttributes(event.attributes),
      droppedAttributesCount: Number(
        (event as Record<string, unknown>).droppedAttributesCount ?? 0,
      ),
    })),
    droppedEventsCount: Number(extra.droppedEventsCount ?? 0),
    links: (span.links ?? []).map((link) => ({
      traceId: link.traceId.toLowerCase(),
      spanId: link.spanId.toLowerCase(),
      traceState: link.traceState ?? '',
      attributes: expectedAttributes(link.attributes),
      droppedAttributesCount: Number((link as Record<string, unknown>).droppedAttributesCount ?? 0),
    })),
    droppedLinksCount: Number(extra.droppedLinksCount ?? 0),
    status: span.status
      ? { code: span.status.code ?? 0, message: span.status.message ?? '' }
      : null,
  };
}

function expectedAttributes(attributes: readonly JsonKeyValue[] | undefined): KeyValueView[] {
  return (attributes ?? []).map((attribute) =>
    attribute.value === undefined
      ? { key: attribute.key, value: null }
      : { key: attribute.key, value: expectedAnyValue(attribute.value) },
  );
}

function expectedAnyValue(value: JsonAnyValue): AnyValueView {
  if (value.intValue !== undefined) return { intValue: String(value.intValue) };
  if (value.arrayValue !== undefined)
    return { arrayValue: { values: (value.arrayValue.values ?? []).map(expectedAnyValue) } };
  if (value.kvlistValue !== undefined)
    return { kvlistValue: { values: expectedAttributes(value.kvlistValue.values) } };
  return { ...value };
}

/** The SpanView part of a received span (without where it came from). */
export function viewOf(span: ReceivedSpan): SpanView {
  const { resourceAttributes, resourceKeyCounts, scopeName, request, ...view } = span;
  void resourceAttributes;
  void resourceKeyCounts;
  void scopeName;
  void request;
  return view;
}

export function stringAttribute(span: ReceivedSpan, key: string): string | undefined {
  const value = span.resourceAttributes[key];
  return typeof value?.stringValue === 'string' ? value.stringValue : undefined;
}
