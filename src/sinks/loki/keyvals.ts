import { xxh3 } from '@node-rs/xxhash';
import type {
  FaroEvent,
  FaroException,
  FaroFrame,
  FaroLog,
  FaroMeasurement,
  FaroMeta,
  FaroTraceContext,
} from '../../model/index.js';
import { compareGoStrings, goFormatFloatF, goString, goTimeString } from './go-format.js';

/**
 * The ordered key/values of one Loki line, built exactly as Alloy's `payload.KeyVal` does
 * (`internal/payload/payload.go` and `utils.go`). A `Map` has the semantics of Alloy's ordered
 * map: `set` of a new key appends it, `set` of an existing key replaces the value in place.
 * Values are strings, except the `value_*` floats of a measurement.
 */
export type KeyVals = Map<string, string | number>;

/** Alloy's `KeyValAdd`: empty strings are skipped, so a key is absent rather than empty. */
function add(keyVals: KeyVals, key: string, value: string | undefined): void {
  if (value !== undefined && value !== '') keyVals.set(key, value);
}

/**
 * Alloy's `MergeKeyValWithPrefix(kv, KeyValFromMap(m), prefix)`: the map's non-empty values in
 * byte-wise key order. The model admits numbers and booleans in string maps (the decode stage
 * stringifies them); `String` keeps this safe if one slips through.
 */
function addSortedMap(
  keyVals: KeyVals,
  prefix: string,
  map: Readonly<Record<string, unknown>> | undefined,
): void {
  if (map === undefined) return;
  const keys = Object.keys(map);
  if (keys.length === 0) return;
  const entries = keys.map((key) => [goString(key), map[key]] as const);
  entries.sort((a, b) => compareGoStrings(a[0], b[0]));
  for (const [key, raw] of entries) {
    add(keyVals, prefix + key, typeof raw === 'string' ? raw : String(raw));
  }
}

/** `traceID`, then `spanID` (note the case: the payload says `trace_id`). */
function addTrace(keyVals: KeyVals, trace: FaroTraceContext | undefined): void {
  if (trace === undefined) return;
  add(keyVals, 'traceID', trace.trace_id);
  add(keyVals, 'spanID', trace.span_id);
}

export function logKeyVals(log: FaroLog): KeyVals {
  const keyVals: KeyVals = new Map();
  keyVals.set('timestamp', goTimeString(log.timestamp));
  keyVals.set('kind', 'log');
  add(keyVals, 'message', log.message);
  add(keyVals, 'level', log.level);
  addSortedMap(keyVals, 'context_', log.context);
  addTrace(keyVals, log.trace);
  return keyVals;
}

export function exceptionKeyVals(exception: FaroException): KeyVals {
  const keyVals: KeyVals = new Map();
  keyVals.set('timestamp', goTimeString(exception.timestamp));
  keyVals.set('kind', 'exception');
  add(keyVals, 'type', exception.type);
  add(keyVals, 'value', exception.value);
  keyVals.set('stacktrace', renderStacktrace(exception)); // never empty: at least ": "
  keyVals.set('hash', exceptionHash(exception.value ?? ''));
  addSortedMap(keyVals, 'context_', exception.context);
  addTrace(keyVals, exception.trace);
  return keyVals;
}

/** XXH3-64 (seed 0) of the exception value, as an unsigned decimal: Alloy's `hash` key. */
export function exceptionHash(value: string): string {
  return xxh3.xxh64(goString(value)).toString();
}

/**
 * `<type>: <value>`, then per frame `\n  at <function> (<module>|<filename>:<lineno>:<colno>)`;
 * the `module|` part only when a module is set, and missing numbers print `0` (Go's zero int).
 */
export function renderStacktrace(exception: FaroException): string {
  let text = `${exception.type ?? ''}: ${exception.value ?? ''}`;
  for (const frame of exception.stacktrace?.frames ?? []) text += renderFrame(frame);
  return text;
}

function renderFrame(frame: FaroFrame): string {
  const module = frame.module ? `${frame.module}|` : '';
  return `\n  at ${frame.function ?? ''} (${module}${frame.filename ?? ''}:${goInt(frame.lineno)}:${goInt(frame.colno)})`;
}

/** `%v` of a Go int; integers beyond 2^53 (which Go would have refused) keep all their digits. */
function goInt(value: number | undefined): string {
  if (value === undefined) return '0';
  return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
}

export function measurementKeyVals(measurement: FaroMeasurement): KeyVals {
  const keyVals: KeyVals = new Map();
  keyVals.set('timestamp', goTimeString(measurement.timestamp));
  keyVals.set('kind', 'measurement');
  add(keyVals, 'type', measurement.type);
  const values = measurement.values ?? {};
  const names = Object.keys(values)
    .map((name) => [goString(name), values[name] ?? 0] as const)
    .sort((a, b) => compareGoStrings(a[0], b[0]));
  // Each value twice: bare with %f (a value named `type` or `kind` overwrites that key in place)...
  for (const [name, value] of names) keyVals.set(name, goFormatFloatF(value));
  addTrace(keyVals, measurement.trace);
  addSortedMap(keyVals, 'context_', measurement.context);
  // ...and as a float64 under `value_<name>`, which logfmt prints with %v and JSON as a number.
  for (const [name, value] of names) keyVals.set(`value_${name}`, value);
  return keyVals;
}

export function eventKeyVals(event: FaroEvent): KeyVals {
  const keyVals: KeyVals = new Map();
  keyVals.set('timestamp', goTimeString(event.timestamp));
  keyVals.set('kind', 'event');
  add(keyVals, 'event_name', event.name);
  add(keyVals, 'event_domain', event.domain);
  addSortedMap(keyVals, 'event_data_', event.attributes);
  addTrace(keyVals, event.trace);
  return keyVals;
}

/**
 * The meta suffix, in Alloy's order: sdk, app, user, session, page, browser, view. Only the fields
 * Alloy's struct has: the rest of the meta (os, device, geo, k6, `app.bundleId`, ...) is kept in
 * the store, not on the Loki line. `browser_mobile` is always there: Go prints its zero `false`.
 */
export function metaKeyVals(meta: FaroMeta | undefined): KeyVals {
  const keyVals: KeyVals = new Map();
  const { sdk, app, user, session, page, browser, view } = meta ?? {};
  add(keyVals, 'sdk_name', sdk?.name);
  add(keyVals, 'sdk_version', sdk?.version);
  if (sdk?.integrations && sdk.integrations.length > 0) {
    const list = sdk.integrations.map((i) => `${i.name ?? ''}:${i.version ?? ''}`);
    add(keyVals, 'sdk_integrations', list.join(','));
  }
  add(keyVals, 'app_name', app?.name);
  add(keyVals, 'app_namespace', app?.namespace);
  add(keyVals, 'app_release', app?.release);
  add(keyVals, 'app_version', app?.version);
  add(keyVals, 'app_environment', app?.environment);
  add(keyVals, 'user_email', user?.email);
  add(keyVals, 'user_id', user?.id);
  add(keyVals, 'user_username', user?.username);
  addSortedMap(keyVals, 'user_attr_', user?.attributes);
  add(keyVals, 'session_id', session?.id);
  addSortedMap(keyVals, 'session_attr_', session?.attributes);
  add(keyVals, 'page_id', page?.id);
  add(keyVals, 'page_url', page?.url);
  addSortedMap(keyVals, 'page_attr_', page?.attributes);
  add(keyVals, 'browser_name', browser?.name);
  add(keyVals, 'browser_version', browser?.version);
  add(keyVals, 'browser_os', browser?.os);
  keyVals.set('browser_mobile', browser?.mobile === true ? 'true' : 'false');
  add(keyVals, 'browser_userAgent', browser?.userAgent);
  add(keyVals, 'browser_language', browser?.language);
  // Alloy's struct has strings here (the SDK sends strings); a number is printed as its string form.
  add(keyVals, 'browser_viewportWidth', stringForm(browser?.viewportWidth));
  add(keyVals, 'browser_viewportHeight', stringForm(browser?.viewportHeight));
  add(keyVals, 'view_name', view?.name);
  return keyVals;
}

/**
 * A text that is the same for two metas exactly when `metaKeyVals` makes the same keys and values
 * of them: every field it reads, each with its length in front (so no value can imitate a
 * separator), in the order it reads them. What the meta-part cache of `formatPayloadLines` is
 * keyed on. Cheaper than the key/values and their encoding: no maps, no sorting, no escaping.
 */
export function metaIdentity(meta: FaroMeta | undefined): string {
  if (meta === undefined) return '';
  const { sdk, app, user, session, page, browser, view } = meta;
  let id = '';
  const part = (value: string | number | undefined): void => {
    const text = value === undefined ? '' : String(value);
    id += `${text.length}:${text}`;
  };
  const map = (values: Readonly<Record<string, unknown>> | undefined): void => {
    const keys = values === undefined ? [] : Object.keys(values);
    id += `${keys.length};`;
    for (const key of keys) {
      part(key);
      part(String(values?.[key]));
    }
  };
  part(sdk?.name);
  part(sdk?.version);
  const integrations = sdk?.integrations ?? [];
  id += `${integrations.length};`;
  for (const integration of integrations) {
    part(integration.name);
    part(integration.version);
  }
  part(app?.name);
  part(app?.namespace);
  part(app?.release);
  part(app?.version);
  part(app?.environment);
  part(user?.email);
  part(user?.id);
  part(user?.username);
  map(user?.attributes);
  part(session?.id);
  map(session?.attributes);
  part(page?.id);
  part(page?.url);
  map(page?.attributes);
  part(browser?.name);
  part(browser?.version);
  part(browser?.os);
  id += browser?.mobile === true ? 't' : 'f';
  part(browser?.userAgent);
  part(browser?.language);
  part(browser?.viewportWidth);
  part(browser?.viewportHeight);
  part(view?.name);
  return id;
}

function stringForm(value: string | number | undefined): string | undefined {
  return typeof value === 'number' ? String(value) : value;
}

/** Alloy's `MergeKeyVal`: every pair of `source` set on `target` (in place when the key exists). */
export function mergeKeyVals(target: KeyVals, source: ReadonlyMap<string, string | number>): void {
  for (const [key, value] of source) target.set(key, value);
}
