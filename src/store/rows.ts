import type { AcceptedBatch, FaroPayload, ItemKind } from '../model/index.js';

/** One stored item, before it has an id. `body` is the item exactly as received (JSON). */
export interface ItemRow {
  kind: ItemKind;
  time: number;
  name: string | null;
  sessionId: string | null;
  pageId: string | null;
  traceId: string | null;
  spanId: string | null;
  body: string;
  /** Spans only: the resource and scope they came with. */
  extra: string | null;
}

/** Flattens a payload into rows, in Faro's kind order (logs, exceptions, measurements, events, spans). */
export function itemRows(batch: AcceptedBatch): ItemRow[] {
  const { payload, receivedAt } = batch;
  const sessionId = payload.meta?.session?.id ?? null;
  const pageId = payload.meta?.page?.id ?? null;
  const rows: ItemRow[] = [];
  const timeOf = (timestamp: string | undefined) => {
    const parsed = timestamp === undefined ? NaN : Date.parse(timestamp);
    return Number.isFinite(parsed) ? parsed : receivedAt;
  };
  const push = (
    kind: ItemKind,
    item: { timestamp?: string; trace?: { trace_id: string; span_id: string } },
    name: string | undefined,
  ) =>
    rows.push({
      kind,
      time: timeOf(item.timestamp),
      name: name ?? null,
      sessionId,
      pageId,
      // Ids are hex: store one case so that lookups by trace id find every item of the trace.
      traceId: item.trace?.trace_id ? item.trace.trace_id.toLowerCase() : null,
      spanId: item.trace?.span_id ? item.trace.span_id.toLowerCase() : null,
      body: JSON.stringify(item),
      extra: null,
    });

  for (const log of payload.logs ?? []) push('log', log, log.level);
  for (const exception of payload.exceptions ?? []) push('exception', exception, exception.type);
  for (const measurement of payload.measurements ?? [])
    push('measurement', measurement, measurement.type);
  for (const event of payload.events ?? []) push('event', event, event.name);
  pushSpans(payload, receivedAt, sessionId, pageId, rows);
  return rows;
}

function pushSpans(
  payload: FaroPayload,
  receivedAt: number,
  sessionId: string | null,
  pageId: string | null,
  rows: ItemRow[],
): void {
  for (const resourceSpans of payload.traces?.resourceSpans ?? []) {
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      const extra = JSON.stringify({
        resource: resourceSpans.resource ?? {},
        scope: scopeSpans.scope ?? {},
      });
      for (const span of scopeSpans.spans ?? []) {
        const startMs = Number(BigInt(span.startTimeUnixNano) / 1_000_000n);
        rows.push({
          kind: 'span',
          time: startMs > 0 ? startMs : receivedAt,
          name: span.name,
          sessionId: spanSessionId(span.attributes) ?? sessionId,
          pageId,
          traceId: span.traceId.toLowerCase(),
          spanId: span.spanId.toLowerCase(),
          body: JSON.stringify(span),
          extra,
        });
      }
    }
  }
}

/** Faro puts `session.id` on every span it records. */
function spanSessionId(
  attributes: readonly { key: string; value?: { stringValue?: string } }[] | undefined,
): string | null {
  for (const attribute of attributes ?? []) {
    if (attribute.key === 'session.id' && attribute.value?.stringValue)
      return attribute.value.stringValue;
  }
  return null;
}
