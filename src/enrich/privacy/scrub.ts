import type { FaroPayload } from '../../model/index.js';
import type { FieldKind } from './config.js';
import { scrubText, type PrivacyPolicy } from './policy.js';
import { CARD_MARKER, isCardNumberValue } from './rules/card.js';

/**
 * Walks a payload and applies a tenant's privacy policy to every string in it, in place.
 *
 * The walk follows the Faro model (`shapes` below) to know each string's kind and to skip what
 * cannot hold text (timestamps, ids validated as hex, numbers of measurements). Everything the
 * model does not name — unknown fields, which Pharos stores as received — is walked generically:
 * a secret cannot hide in a field Pharos has not heard of.
 */

/** One field the policy changed, for the dry-run report. `after` is undefined when dropped. */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface ScrubResult {
  /** Fields changed or dropped. */
  changed: number;
  /** Strings each rule changed, by rule name; fields removed are counted as `dropFields`. */
  byRule: Record<string, number>;
}

type Shape =
  | { readonly t: 'skip' }
  | { readonly t: 'leaf'; readonly kind: FieldKind; readonly userEmail?: boolean }
  | { readonly t: 'object'; readonly fields: ReadonlyMap<string, Shape>; readonly rest: FieldKind }
  | { readonly t: 'array'; readonly of: Shape }
  | { readonly t: 'map'; readonly kind: FieldKind; readonly drop?: 'context' | 'attributes' }
  | { readonly t: 'otlpAttributes' };

const SKIP: Shape = { t: 'skip' };
const leaf = (kind: FieldKind): Shape => ({ t: 'leaf', kind });
const object = (fields: Record<string, Shape>, rest: FieldKind = 'other'): Shape => ({
  t: 'object',
  fields: new Map(Object.entries(fields)),
  rest,
});
const array = (of: Shape): Shape => ({ t: 'array', of });
const map = (kind: FieldKind, drop?: 'context' | 'attributes'): Shape =>
  drop ? { t: 'map', kind, drop } : { t: 'map', kind };
const OTLP: Shape = { t: 'otlpAttributes' };

const COMMON = { timestamp: SKIP, action: object({ name: leaf('name') }) };
const FRAME = object(
  {
    filename: leaf('frame'),
    function: leaf('frame'),
    module: leaf('frame'),
    lineno: SKIP,
    colno: SKIP,
    in_app: SKIP,
  },
  'frame',
);
const SPAN = object({
  traceId: SKIP,
  spanId: SKIP,
  parentSpanId: SKIP,
  name: leaf('name'),
  kind: SKIP,
  startTimeUnixNano: SKIP,
  endTimeUnixNano: SKIP,
  attributes: OTLP,
  events: array(object({ timeUnixNano: SKIP, name: leaf('name'), attributes: OTLP })),
  links: array(object({ traceId: SKIP, spanId: SKIP, attributes: OTLP })),
  status: object({ code: SKIP, message: leaf('message') }),
});

const PAYLOAD_SHAPE = object({
  meta: object(
    {
      user: object(
        { email: { t: 'leaf', kind: 'meta', userEmail: true }, attributes: map('attribute') },
        'meta',
      ),
      session: object({ attributes: map('attribute') }, 'meta'),
      page: object({ url: leaf('url'), attributes: map('attribute') }, 'meta'),
    },
    'meta',
  ),
  logs: array(object({ message: leaf('message'), context: map('context', 'context'), ...COMMON })),
  exceptions: array(
    object({
      type: leaf('message'),
      value: leaf('message'),
      stacktrace: object({ frames: array(FRAME) }, 'frame'),
      context: map('context', 'context'),
      ...COMMON,
    }),
  ),
  measurements: array(
    object({
      type: leaf('name'),
      values: map('name'),
      context: map('context', 'context'),
      ...COMMON,
    }),
  ),
  events: array(
    object({
      name: leaf('name'),
      domain: leaf('name'),
      attributes: map('attribute', 'attributes'),
      ...COMMON,
    }),
  ),
  traces: object({
    resourceSpans: array(
      object({
        resource: object({ attributes: OTLP }),
        scopeSpans: array(
          object({ scope: object({ name: leaf('name'), attributes: OTLP }), spans: array(SPAN) }),
        ),
      }),
    ),
  }),
});

/** Attribute keys whose value is a URL, whatever it looks like. */
const URL_KEYS =
  /^(?:url|uri|href|referr?er|location|page[._]url|http\.(?:url|target)|url\.(?:full|original|path|query))$/i;
/** The SDK copies `meta.user.email` onto spans and `faro.tracing.*` events under this key. */
const USER_EMAIL_KEY = 'user.email';

type Container = Record<string, unknown> | unknown[];
type Key = string | number;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Scrubber {
  readonly counts: number[] = [];
  changed = 0;
  dropped = 0;
  private readonly path: Key[] = [];

  constructor(
    private readonly policy: PrivacyPolicy,
    private readonly onChange: ((change: FieldChange) => void) | undefined,
  ) {}

  payload(payload: FaroPayload): void {
    if (isObject(payload.meta)) this.dropMetaFields(payload.meta);
    this.visit(payload, undefined, PAYLOAD_SHAPE, payload);
  }

  private visit(container: Container, key: Key | undefined, shape: Shape, value: unknown): void {
    switch (shape.t) {
      case 'skip':
        return;
      case 'leaf':
        if (typeof value === 'string') {
          const keepEmail = shape.userEmail === true && this.policy.keepUserEmail;
          this.setText(container, key, value, shape.kind, keepEmail);
        } else this.any(container, key, value, shape.kind);
        return;
      case 'object':
        if (!isObject(value)) return this.any(container, key, value, shape.rest);
        for (const name of Object.keys(value)) {
          const child = shape.fields.get(name);
          this.path.push(name);
          if (child) this.visit(value, name, child, value[name]);
          else this.any(value, this.scrubKey(value, name, shape.rest), value[name], shape.rest);
          this.path.pop();
        }
        return;
      case 'array':
        if (!Array.isArray(value)) return this.any(container, key, value, 'other');
        for (let index = 0; index < value.length; index++) {
          this.path.push(index);
          this.visit(value, index, shape.of, value[index]);
          this.path.pop();
        }
        return;
      case 'map':
        if (!isObject(value)) return this.any(container, key, value, shape.kind);
        return this.stringMap(value, shape.kind, shape.drop);
      case 'otlpAttributes':
        if (!Array.isArray(value)) return this.any(container, key, value, 'spanAttribute');
        return this.otlpAttributes(value);
    }
  }

  /** `context`, `attributes`: string values (stringified at validation), any keys. */
  private stringMap(
    values: Record<string, unknown>,
    kind: FieldKind,
    drop: 'context' | 'attributes' | undefined,
  ): void {
    const dropped =
      drop === 'context'
        ? this.policy.dropContext
        : drop === 'attributes'
          ? this.policy.dropAttributes
          : undefined;
    for (const name of Object.keys(values)) {
      this.path.push(name);
      if (dropped?.has(name)) {
        this.drop(values, name);
      } else {
        const key = this.scrubKey(values, name, kind);
        const value = values[key];
        if (typeof value === 'string') {
          const keepEmail = name === USER_EMAIL_KEY && this.policy.keepUserEmail;
          this.setText(values, key, value, valueKind(name, value, kind), keepEmail);
        } else if (typeof value !== 'number') {
          // Numbers here are measurement values: metrics, never text, and must stay numbers.
          this.any(values, key, value, kind);
        }
      }
      this.path.pop();
    }
  }

  /** OTLP `[{ key, value: AnyValue }]` of spans, span events, links, resources and scopes. */
  private otlpAttributes(list: unknown[]): void {
    const droppedAt: number[] = [];
    for (let index = 0; index < list.length; index++) {
      const entry = list[index];
      this.path.push(index);
      if (!isObject(entry)) {
        this.any(list, index, entry, 'spanAttribute');
      } else if (typeof entry.key === 'string' && this.policy.dropAttributes.has(entry.key)) {
        this.dropped++;
        this.report(entry, undefined);
        droppedAt.push(index);
      } else {
        const name = typeof entry.key === 'string' ? entry.key : '';
        for (const field of Object.keys(entry)) {
          this.path.push(field);
          if (field === 'value') this.anyValue(entry, 'value', entry.value, name);
          else this.any(entry, field, entry[field], 'spanAttribute');
          this.path.pop();
        }
      }
      this.path.pop();
    }
    for (let index = droppedAt.length - 1; index >= 0; index--) {
      list.splice(droppedAt[index] as number, 1);
    }
  }

  /** An OTLP AnyValue: text in `stringValue`, nested arrays and key-value lists. */
  private anyValue(holder: Container, key: Key, value: unknown, name: string): void {
    if (!isObject(value)) return this.any(holder, key, value, 'spanAttribute');
    for (const field of Object.keys(value)) {
      const inner = value[field];
      this.path.push(field);
      if (field === 'stringValue' && typeof inner === 'string') {
        const keepEmail = name === USER_EMAIL_KEY && this.policy.keepUserEmail;
        this.setText(value, field, inner, valueKind(name, inner, 'spanAttribute'), keepEmail);
      } else if (field === 'intValue' && (typeof inner === 'string' || typeof inner === 'number')) {
        // An integer attribute holding a card number becomes a string: `[card]` is no integer.
        if (this.policy.cardIndex >= 0 && isCardNumberValue(inner)) {
          this.path.pop();
          this.set(holder, key, value, { stringValue: CARD_MARKER }, this.policy.cardIndex);
          return;
        }
      } else if (field === 'arrayValue' && isObject(inner) && Array.isArray(inner.values)) {
        const values = inner.values as unknown[];
        this.path.push('values');
        for (let index = 0; index < values.length; index++) {
          this.path.push(index);
          this.anyValue(values, index, values[index], name);
          this.path.pop();
        }
        this.path.pop();
      } else if (field === 'kvlistValue' && isObject(inner) && Array.isArray(inner.values)) {
        this.path.push('values');
        this.otlpAttributes(inner.values as unknown[]);
        this.path.pop();
      } else if (field !== 'boolValue' && field !== 'doubleValue' && field !== 'bytesValue') {
        this.any(value, field, inner, 'spanAttribute');
      }
      this.path.pop();
    }
  }

  /** Anything the model does not describe: every string, every key, and numbers that are cards. */
  private any(container: Container, key: Key | undefined, value: unknown, kind: FieldKind): void {
    if (typeof value === 'string') {
      this.setText(container, key, value, kind, false);
    } else if (typeof value === 'number') {
      if (this.policy.cardIndex >= 0 && isCardNumberValue(value)) {
        this.set(container, key, value, CARD_MARKER, this.policy.cardIndex);
      }
    } else if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        this.path.push(index);
        this.any(value, index, value[index], kind);
        this.path.pop();
      }
    } else if (isObject(value)) {
      for (const name of Object.keys(value)) {
        this.path.push(name);
        const renamed = this.scrubKey(value, name, kind);
        this.any(value, renamed, value[renamed], kind);
        this.path.pop();
      }
    }
  }

  /** A map key that holds a secret is renamed (`{"alice@example.com": …}` → `{"[email]": …}`). */
  private scrubKey(container: Record<string, unknown>, name: string, kind: FieldKind): string {
    const scrubbed = scrubText(this.policy, name, kind, this.counts);
    if (scrubbed === name) return name;
    let renamed = scrubbed;
    for (let suffix = 2; Object.hasOwn(container, renamed); suffix++)
      renamed = `${scrubbed}#${suffix}`;
    container[renamed] = container[name];
    delete container[name];
    this.report(name, renamed, 'key');
    this.path[this.path.length - 1] = renamed;
    return renamed;
  }

  private setText(
    container: Container,
    key: Key | undefined,
    text: string,
    kind: FieldKind,
    keepEmail: boolean,
  ): void {
    const scrubbed = scrubText(this.policy, text, kind, this.counts, keepEmail);
    if (scrubbed !== text && key !== undefined) {
      (container as Record<Key, unknown>)[key] = scrubbed;
      this.report(text, scrubbed);
    }
  }

  private set(
    container: Container,
    key: Key | undefined,
    before: unknown,
    after: unknown,
    rule: number,
  ): void {
    if (key === undefined) return;
    (container as Record<Key, unknown>)[key] = after;
    this.counts[rule] = (this.counts[rule] ?? 0) + 1;
    this.report(before, after);
  }

  private drop(container: Record<string, unknown>, key: string): void {
    this.dropped++;
    this.report(container[key], undefined);
    delete container[key];
  }

  private dropMetaFields(meta: Record<string, unknown>): void {
    for (const path of this.policy.dropMeta) {
      let holder: Record<string, unknown> = meta;
      const trail: Key[] = ['meta'];
      for (const segment of path.slice(0, -1)) {
        const next = holder[segment];
        if (!isObject(next)) {
          holder = {};
          break;
        }
        holder = next;
        trail.push(segment);
      }
      const last = path[path.length - 1] as string;
      if (!Object.hasOwn(holder, last)) continue;
      this.path.push(...trail.slice(), last);
      this.drop(holder, last);
      this.path.length = 0;
    }
  }

  private report(before: unknown, after: unknown, what: 'value' | 'key' = 'value'): void {
    this.changed++;
    if (!this.onChange) return;
    const path = formatPath(this.path) + (what === 'key' ? ' (key)' : '');
    this.onChange({ path, before, after });
  }
}

/** URL-valued attributes are kind `url` (custom rules may target them), by key or by value. */
function valueKind(key: string, value: string, kind: FieldKind): FieldKind {
  if (URL_KEYS.test(key)) return 'url';
  return value.startsWith('http://') || value.startsWith('https://') ? 'url' : kind;
}

/** `exceptions[0].stacktrace.frames[2].filename`, `events[1].attributes["url.full"]`. */
export function formatPath(path: readonly Key[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Applies a policy to a payload in place. `onChange`, when given, hears every field changed
 * (the dry-run uses it; the enricher does not, so it builds no paths' text).
 */
export function scrubPayload(
  payload: FaroPayload,
  policy: PrivacyPolicy,
  onChange?: (change: FieldChange) => void,
): ScrubResult {
  if (!policy.enabled) return { changed: 0, byRule: {} };
  const scrubber = new Scrubber(policy, onChange);
  scrubber.payload(payload);
  const byRule: Record<string, number> = {};
  scrubber.counts.forEach((count, index) => {
    if (count > 0) byRule[policy.ruleNames[index] as string] = count;
  });
  if (scrubber.dropped > 0) byRule.dropFields = scrubber.dropped;
  return { changed: scrubber.changed, byRule };
}
