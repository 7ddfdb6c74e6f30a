import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { PharosError } from '../errors/index.js';
import {
  FaroPayloadSchema,
  OtlpAnyValueSchema,
  countItems,
  type FaroPayload,
} from '../model/index.js';

// ajv-formats ships CommonJS with a default export object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const ajv = new Ajv({ strict: false, allErrors: false, verbose: true, allowUnionTypes: true });
addFormats(ajv, ['date-time']);
ajv.addSchema(OtlpAnyValueSchema);
/** Compiled once at start: validation is a straight run of generated code on the hot path. */
const checkPayload = ajv.compile<FaroPayload>(FaroPayloadSchema);

export interface ValidPayload {
  payload: FaroPayload;
  itemCount: number;
}

/**
 * Checks a parsed body against the full Faro payload model. The first problem is reported with its
 * JSON path and the reason (`measurements[0].values.lcp: expected number, got string`); the whole
 * request is refused, so nothing of a bad payload is half-ingested.
 */
export function validatePayload(value: unknown, maxItems: number): ValidPayload {
  if (!checkPayload(value)) {
    throw new PharosError('PAYLOAD_INVALID', describe(checkPayload.errors ?? []));
  }
  const itemCount = countItems(value);
  if (itemCount > maxItems) {
    throw new PharosError(
      'PAYLOAD_TOO_MANY_ITEMS',
      `the payload has ${itemCount} items; the limit is ${maxItems}`,
    );
  }
  stringifyMapValues(value);
  return { payload: value, itemCount };
}

/** Faro's string maps may arrive with numbers or booleans from hand-written senders; store strings. */
function stringifyMapValues(payload: FaroPayload): void {
  for (const log of payload.logs ?? []) stringifyMap(log.context);
  for (const exception of payload.exceptions ?? []) stringifyMap(exception.context);
  for (const measurement of payload.measurements ?? []) stringifyMap(measurement.context);
  for (const event of payload.events ?? []) stringifyMap(event.attributes);
  const meta = payload.meta;
  if (meta) {
    stringifyMap(meta.user?.attributes);
    stringifyMap(meta.session?.attributes);
    stringifyMap(meta.page?.attributes);
  }
}

function stringifyMap(map: Record<string, string> | undefined): void {
  if (!map) return;
  for (const key in map) {
    const value: unknown = map[key];
    if (typeof value !== 'string') map[key] = String(value);
  }
}

function describe(errors: readonly ErrorObject[]): string {
  // With allErrors off, Ajv stops at the first failing keyword. For a union it first lists each
  // branch's failure, then the union's own: the last error is the one that decided.
  const error = errors[errors.length - 1];
  if (!error) return 'the payload does not match the Faro model';
  const expected = error.parentSchema?.['x-expected'] as string | undefined;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${jsonPath(error.instancePath, String(params.missingProperty))}: required`;
    case 'type':
      return `${jsonPath(error.instancePath)}: expected ${expected ?? String(params.type)}, got ${typeName(error.data)}`;
    case 'anyOf':
    case 'oneOf':
      return `${jsonPath(error.instancePath)}: expected ${expected ?? 'another type'}, got ${typeName(error.data)}`;
    case 'format':
    case 'pattern':
      return `${jsonPath(error.instancePath)}: expected ${expected ?? `a value matching ${String(params.format ?? params.pattern)}`}, got ${preview(error.data)}`;
    default:
      return `${jsonPath(error.instancePath)}: ${error.message ?? 'is invalid'}`;
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `/measurements/0/values/lcp` → `measurements[0].values.lcp`; odd keys are quoted: `context["a b"]`. */
function jsonPath(pointer: string, child?: string): string {
  const segments =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) segments.push(child);
  let path = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path === '' ? '(root)' : path;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isInteger(value)) return 'integer';
  return typeof value;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
