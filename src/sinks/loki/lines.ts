import type {
  FaroEvent,
  FaroException,
  FaroLog,
  FaroMeasurement,
  FaroMeta,
  FaroPayload,
} from '../../model/index.js';
import { goJsonObject, goJsonObjectOfSorted, goJsonPairs, type JsonMember } from './go-json.js';
import {
  eventKeyVals,
  exceptionKeyVals,
  logKeyVals,
  measurementKeyVals,
  mergeKeyVals,
  metaIdentity,
  metaKeyVals,
  type KeyVals,
} from './keyvals.js';
import { encodeLogfmt } from './logfmt.js';

export type LokiLineFormat = 'logfmt' | 'json';

/** The item kinds that become Loki lines (spans go to the traces sink). */
export type LokiItemKind = 'log' | 'exception' | 'measurement' | 'event';

export type LokiItem =
  | { readonly kind: 'log'; readonly item: FaroLog }
  | { readonly kind: 'exception'; readonly item: FaroException }
  | { readonly kind: 'measurement'; readonly item: FaroMeasurement }
  | { readonly kind: 'event'; readonly item: FaroEvent };

/**
 * Keys appended after Alloy's, for one item (a later change adds `fingerprint`). Pairs with an
 * empty value are skipped, and a key that already exists is set in place, as Alloy's own merges do.
 */
export type TrailingKeys = (item: LokiItem) => Iterable<readonly [string, string]> | undefined;

export interface FormattedLine {
  readonly item: LokiItem;
  readonly line: string;
  /** A key's value on the line, after Alloy's merges: what copied labels read. */
  readonly value: (key: string) => string | number | undefined;
}

/** The items of a payload in Alloy's order: all logs, then exceptions, measurements, events. */
export function* lokiItems(payload: FaroPayload): Generator<LokiItem> {
  for (const item of payload.logs ?? []) yield { kind: 'log', item };
  for (const item of payload.exceptions ?? []) yield { kind: 'exception', item };
  for (const item of payload.measurements ?? []) yield { kind: 'measurement', item };
  for (const item of payload.events ?? []) yield { kind: 'event', item };
}

export function itemKeyVals(item: LokiItem): KeyVals {
  switch (item.kind) {
    case 'log':
      return logKeyVals(item.item);
    case 'exception':
      return exceptionKeyVals(item.item);
    case 'measurement':
      return measurementKeyVals(item.item);
    case 'event':
      return eventKeyVals(item.item);
  }
}

export function renderLine(keyVals: KeyVals, format: LokiLineFormat): string {
  return format === 'json' ? goJsonObject(keyVals) : encodeLogfmt(keyVals);
}

/**
 * Every line of a payload: the item's keys, then the meta keys merged at the end (a meta key that
 * the item already has is overwritten in place), then the trailing keys, likewise.
 *
 * Almost always no key is in two of those parts (only a measurement value named like a meta key,
 * or a trailing key, can be), and then the merged line is simply the parts one after the other
 * (logfmt) or their members merged in key order (JSON). The meta part, about two thirds of a line,
 * is then encoded once per payload instead of once per item. When a key is shared, the parts are
 * merged key by key exactly as Alloy does.
 */
export function formatPayloadLines(
  payload: FaroPayload,
  format: LokiLineFormat,
  trailingKeys?: TrailingKeys,
): FormattedLine[] {
  const metaPart = metaPartOf(payload.meta, format);
  const meta = metaPart.keyVals;
  const lines: FormattedLine[] = [];
  for (const item of lokiItems(payload)) {
    const own = itemKeyVals(item);
    const trailing = trailingKeys ? nonEmptyPairs(trailingKeys(item)) : undefined;
    if (
      overlaps(own, meta) ||
      (trailing && (overlaps(trailing, own) || overlaps(trailing, meta)))
    ) {
      mergeKeyVals(own, meta);
      if (trailing) mergeKeyVals(own, trailing);
      lines.push({ item, line: renderLine(own, format), value: (key) => own.get(key) });
      continue;
    }
    const line =
      format === 'json'
        ? goJsonObjectOfSorted(
            trailing
              ? [goJsonPairs(own), metaPart.json(), goJsonPairs(trailing)]
              : [goJsonPairs(own), metaPart.json()],
          )
        : joinLogfmt(encodeLogfmt(own), metaPart.logfmt(), trailing && encodeLogfmt(trailing));
    lines.push({
      item,
      line,
      value: (key) => trailing?.get(key) ?? own.get(key) ?? meta.get(key),
    });
  }
  return lines;
}

function nonEmptyPairs(
  pairs: Iterable<readonly [string, string]> | undefined,
): KeyVals | undefined {
  if (!pairs) return undefined;
  const keyVals: KeyVals = new Map();
  for (const [key, value] of pairs) if (value !== '') keyVals.set(key, value);
  return keyVals.size > 0 ? keyVals : undefined;
}

function overlaps(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const key of small.keys()) if (large.has(key)) return true;
  return false;
}

function joinLogfmt(own: string, meta: string, trailing: string | undefined): string {
  let line = own;
  if (meta !== '') line = line === '' ? meta : `${line} ${meta}`;
  if (trailing) line = line === '' ? trailing : `${line} ${trailing}`;
  return line;
}

/** A meta's key/values and their encodings (each made on first use), shared while cached. */
interface MetaPart {
  readonly keyVals: KeyVals;
  logfmt(): string;
  json(): JsonMember[];
}

/**
 * Every request of a page view carries the same meta (SDK, app, user, session, page, browser), so
 * its part of the line is looked up by `metaIdentity` rather than rebuilt and re-encoded for every
 * payload. Bounded: emptied when full (a working set of live page views refills it at once).
 */
const META_CACHE_SIZE = 4096;
const metaParts = new Map<string, MetaPart>();

function metaPartOf(meta: FaroMeta | undefined, format: LokiLineFormat): MetaPart {
  const id = `${format}|${metaIdentity(meta)}`;
  let part = metaParts.get(id);
  if (part === undefined) {
    part = lazyEncoding(metaKeyVals(meta), format);
    if (metaParts.size >= META_CACHE_SIZE) metaParts.clear();
    metaParts.set(id, part);
  }
  return part;
}

/** The meta part's encoding, made on first use and kept for the payload's other items. */
function lazyEncoding(meta: KeyVals, format: LokiLineFormat): MetaPart {
  let logfmt: string | undefined;
  let json: JsonMember[] | undefined;
  return {
    keyVals: meta,
    logfmt: (): string => (logfmt ??= encodeLogfmt(meta)),
    json: (): JsonMember[] => (json ??= format === 'json' ? goJsonPairs(meta) : []),
  };
}
