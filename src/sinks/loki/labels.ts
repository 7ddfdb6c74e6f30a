import { goFormatFloatV, goString } from './go-format.js';
import type { LokiItemKind } from './lines.js';

/**
 * Stream labels. Pharos adds a small fixed set that Alloy lacks (`service_name`, `app_name`,
 * `app_environment`, `kind`, `level`), then the configured labels: a non-empty value is static,
 * `""` copies the line key of the same name when the line has it (Alloy's `extra_log_labels`).
 * Session, user, trace and page ids never become labels: they would make one stream per visitor.
 */

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Line keys that identify a visitor, a request or an instant: copying them is refused. */
const HIGH_CARDINALITY_KEYS = new Set(['timestamp', 'traceID', 'spanID', 'page_id', 'page_url']);
const HIGH_CARDINALITY_PREFIXES = ['session_', 'user_'];

export const DEFAULT_LABEL_NAMES = [
  'service_name',
  'app_name',
  'app_environment',
  'kind',
  'level',
] as const;

/**
 * The level label. The log level is whatever string the browser sent; only the levels of the Faro
 * SDK and Grafana's log-level names are used as they are, anything else is `unknown`, so a client
 * cannot mint streams by sending made-up levels. The line keeps the level as sent.
 */
const KNOWN_LEVELS = new Set([
  'trace',
  'debug',
  'info',
  'log',
  'warn',
  'warning',
  'error',
  'critical',
  'fatal',
]);

export interface LabelRules {
  /** Configured labels with a value, sorted by name. */
  readonly static: readonly (readonly [string, string])[];
  /** Configured labels copied from the line (Alloy's `""` value), sorted by name. */
  readonly copied: readonly string[];
}

/** Validates and splits the configured labels; throws with every bad name in the message. */
export function compileLabelRules(labels: Readonly<Record<string, string>> = {}): LabelRules {
  const problems: string[] = [];
  const staticLabels: [string, string][] = [];
  const copied: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name)) {
      problems.push(`${JSON.stringify(name)} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)`);
    } else if (name.startsWith('__')) {
      problems.push(`${JSON.stringify(name)}: names starting with "__" are reserved`);
    } else if (value === '') {
      if (isHighCardinalityKey(name)) {
        problems.push(
          `${JSON.stringify(name)} would copy a per-visitor id into a stream label (one stream per visitor); ids go to structured metadata`,
        );
      } else {
        copied.push(name);
      }
    } else {
      staticLabels.push([name, value]);
    }
  }
  if (problems.length > 0) {
    throw new Error(`invalid Loki labels: ${problems.join('; ')}`);
  }
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  staticLabels.sort((a, b) => byName(a[0], b[0]));
  copied.sort(byName);
  return { static: staticLabels, copied };
}

function isHighCardinalityKey(name: string): boolean {
  return (
    HIGH_CARDINALITY_KEYS.has(name) ||
    HIGH_CARDINALITY_PREFIXES.some((prefix) => name.startsWith(prefix))
  );
}

export interface DefaultLabelValues {
  /** `meta.app.name`, else the registry's name for the app, else the Pharos app id. */
  readonly serviceName: string;
  readonly appName: string | undefined;
  readonly appEnvironment: string | undefined;
}

export function levelLabel(kind: LokiItemKind, logLevel: string | undefined): string | undefined {
  if (kind === 'exception') return 'error';
  if (kind !== 'log') return 'info';
  if (logLevel === undefined || logLevel === '') return undefined;
  return KNOWN_LEVELS.has(logLevel) ? logLevel : 'unknown';
}

/**
 * The label set of one entry, sorted by name, empty values left out (Loki treats an empty label as
 * absent). Configured labels win over the defaults of the same name.
 */
export function entryLabels(
  rules: LabelRules,
  defaults: DefaultLabelValues,
  kind: LokiItemKind,
  level: string | undefined,
  lineValue: (key: string) => string | number | undefined,
): [string, string][] {
  const labels = new Map<string, string>();
  const put = (name: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') labels.set(name, value);
  };
  put('service_name', defaults.serviceName);
  put('app_name', defaults.appName);
  put('app_environment', defaults.appEnvironment);
  put('kind', kind);
  put('level', level);
  for (const [name, value] of rules.static) labels.set(name, value);
  for (const name of rules.copied) {
    const value = lineValue(name);
    if (value === undefined) continue;
    // Alloy's fmt.Sprint of the value: strings as they are, the value_* floats with %v.
    put(name, typeof value === 'number' ? goFormatFloatV(value) : value);
  }
  return [...labels].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Whether the labels depend on anything but the batch, kind and level (then they can be cached). */
export function labelsDependOnLine(rules: LabelRules): boolean {
  return rules.copied.length > 0;
}

/**
 * The labels string of a push, in Prometheus text form: `{app_name="shop", kind="log"}`. Values
 * are quoted Go `%q` style with the escapes Loki's label parser needs (`\\`, `\"`, control
 * characters, line and paragraph separators); other characters are valid raw UTF-8 there.
 */
export function labelsText(labels: readonly (readonly [string, string])[]): string {
  let text = '{';
  for (const [name, value] of labels) {
    if (text.length > 1) text += ', ';
    text += `${name}=${quoteLabelValue(value)}`;
  }
  return `${text}}`;
}

/* eslint-disable no-control-regex -- control characters are exactly what these match */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\u007f-\u009f\u2028\u2029\ud800-\udfff]/;
const ESCAPED = /[\u0000-\u001f"\\\u007f-\u009f\u2028\u2029]/g;
/* eslint-enable no-control-regex */
const SHORT_ESCAPES: Record<string, string> = {
  '\u0007': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

export function quoteLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return `"${value}"`;
  const escaped = goString(value).replace(ESCAPED, (char) => {
    const short = SHORT_ESCAPES[char];
    if (short !== undefined) return short;
    const code = char.charCodeAt(0);
    const hex = code.toString(16).padStart(2, '0');
    // Go's %q: \xHH below U+0080 (and DEL), \uHHHH above.
    return code <= 0x7f ? `\\x${hex}` : `\\u${hex.padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}
