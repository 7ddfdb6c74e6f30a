/**
 * Turns a captured Faro SDK body into a template that renders fresh bodies cheaply: the compact
 * JSON is cut at every value that must change between sessions (ids, timestamps), so rendering
 * is one string concatenation, not a deep clone and a `JSON.stringify` per request.
 */

/** Keys whose string values identify something of one session (its id, a page view, a trace). */
const ID_KEYS = new Set([
  'trace_id',
  'span_id',
  'traceId',
  'spanId',
  'parentSpanId',
  'faroNavigationId',
  'faroPreviousNavigationId',
  'faroResourceId',
  'navigation_entry_id',
  'previousSession',
  'session.id',
  'parentId',
]);
/** Keys named `id` are ids under these parents (meta.session, an event's action, a vital's context). */
const ID_PARENTS = new Set(['session', 'action', 'context']);
const NANOS_KEYS = new Set(['startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano']);
/** Placeholders the SDK writes when it does not know a value: they stay as they are. */
const NOT_IDS = new Set(['unknown', '']);
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;

export type Slot =
  /** A session-scoped id: the same captured value renders as the same fresh value in a session. */
  | { readonly kind: 'id'; readonly captured: string }
  /** An ISO timestamp, captured at `ms`. */
  | { readonly kind: 'iso'; readonly ms: number }
  /** An OTLP time in nanoseconds (a JSON string), captured at `nanos`. */
  | { readonly kind: 'nanos'; readonly nanos: bigint };

export interface BodyTemplate {
  /** Literal text around the slots: `parts.length === slots.length + 1`. */
  readonly parts: readonly string[];
  readonly slots: readonly Slot[];
  /** The latest time in the body: rendering shifts every time so that this one becomes "now". */
  readonly latestMs: number;
  /** The captured session id (`meta.session.id`), if any. */
  readonly sessionId: string | undefined;
}

/** Fresh values of one session, by captured value. */
export type IdMap = Map<string, string>;

export function compileTemplate(body: unknown): BodyTemplate {
  const ids = new Set<string>();
  const times = new Map<string, Slot>();
  collectVolatile(body, undefined, undefined, ids, times);

  const text = JSON.stringify(body);
  const tokens = new Map<string, Slot>();
  for (const id of ids) tokens.set(JSON.stringify(id), { kind: 'id', captured: id });
  for (const [value, slot] of times) tokens.set(JSON.stringify(value), slot);
  const latestMs = Math.max(
    0,
    ...[...times.values()].map((slot) =>
      slot.kind === 'iso' ? slot.ms : slot.kind === 'nanos' ? Number(slot.nanos / 1_000_000n) : 0,
    ),
  );
  const meta = (body as { meta?: { session?: { id?: unknown } } }).meta;
  const sessionId = typeof meta?.session?.id === 'string' ? meta.session.id : undefined;
  if (tokens.size === 0) return { parts: [text], slots: [], latestMs, sessionId };

  // Longest first, so that a value which contains another one is matched whole.
  const alternatives = [...tokens.keys()]
    .sort((a, b) => b.length - a.length)
    .map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pieces = text.split(new RegExp(`(${alternatives.join('|')})`));
  const parts: string[] = [];
  const slots: Slot[] = [];
  for (let index = 0; index < pieces.length; index++) {
    const piece = pieces[index] as string;
    if (index % 2 === 0) parts.push(piece);
    else slots.push(tokens.get(piece) as Slot);
  }
  return { parts, slots, latestMs, sessionId };
}

/**
 * Renders a body whose ids come from `ids` (filled with fresh values, shaped by `fresh`, on first
 * sight) and whose times are shifted so that the latest one is `nowMs`: the captured spacing
 * between items is kept, and nothing lies in the future.
 */
export function renderTemplate(
  template: BodyTemplate,
  ids: IdMap,
  fresh: (captured: string) => string,
  nowMs: number,
): string {
  const { parts, slots } = template;
  const shiftMs = nowMs - template.latestMs;
  let out = parts[0] as string;
  for (let index = 0; index < slots.length; index++) {
    const slot = slots[index] as Slot;
    let value: string;
    if (slot.kind === 'id') {
      let mapped = ids.get(slot.captured);
      if (mapped === undefined) {
        mapped = fresh(slot.captured);
        ids.set(slot.captured, mapped);
      }
      value = mapped;
    } else if (slot.kind === 'iso') {
      value = new Date(slot.ms + shiftMs).toISOString();
    } else {
      value = String(slot.nanos + BigInt(Math.round(shiftMs)) * 1_000_000n);
    }
    out += `"${value}"${parts[index + 1] as string}`;
  }
  return out;
}

function collectVolatile(
  value: unknown,
  key: string | undefined,
  parentKey: string | undefined,
  ids: Set<string>,
  times: Map<string, Slot>,
): void {
  if (Array.isArray(value)) {
    // Array elements keep the key of the array (`spans[i]` is under `spans`).
    for (const element of value) collectVolatile(element, key, parentKey, ids, times);
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [childKey, child] of Object.entries(value))
      collectVolatile(child, childKey, key, ids, times);
    return;
  }
  if (typeof value !== 'string' || key === undefined) return;
  if (key === 'timestamp' && ISO_TIME.test(value)) {
    times.set(value, { kind: 'iso', ms: Date.parse(value) });
  } else if (NANOS_KEYS.has(key) && /^\d{1,20}$/.test(value)) {
    times.set(value, { kind: 'nanos', nanos: BigInt(value) });
  } else if (
    !NOT_IDS.has(value) &&
    (ID_KEYS.has(key) || (key === 'id' && parentKey !== undefined && ID_PARENTS.has(parentKey)))
  ) {
    ids.add(value);
  }
}
