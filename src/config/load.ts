import { readFileSync } from 'node:fs';
import { type TSchema } from '@sinclair/typebox';
import { TransformDecodeError, Value, type ValueError } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { privacyConfigProblems } from '../enrich/privacy/config.js';
import { PharosError } from '../errors/index.js';
import { ConfigSchema, configLeaves, envName, type PharosConfig } from './schema.js';

/** `PHAROS_*` variables that are not settings: the config file path and the CLI's client settings. */
export const RESERVED_ENV = new Set(['PHAROS_CONFIG', 'PHAROS_URL', 'PHAROS_TOKEN']);

export interface ConfigSources {
  /** Path of the YAML file; falls back to `PHAROS_CONFIG`. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Flag values by config path (`server.public` → `0.0.0.0:12347`), as given on the command line. */
  flags?: Record<string, string>;
}

type Json = Record<string, unknown>;

/**
 * Builds the configuration from its three sources and validates it once. The result is frozen:
 * everything downstream reads settings, nothing writes them.
 */
export function loadConfig(sources: ConfigSources = {}): Readonly<PharosConfig> {
  const env = sources.env ?? process.env;
  const file = sources.file ?? env.PHAROS_CONFIG;
  const merged: Json = file ? readConfigFile(file) : {};
  const origin = new Map<string, string>();
  if (file) originOfAll(merged, '', `in ${file}`, origin);

  const leaves = configLeaves();
  const byEnvName = new Map(leaves.map((leaf) => [envName(leaf.path), leaf]));
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('PHAROS_') || raw === undefined || RESERVED_ENV.has(name)) continue;
    const leaf = byEnvName.get(name);
    // Not an error: other tools may share the prefix. `pharos start` warns about them (typos).
    if (!leaf) continue;
    setPath(merged, leaf.path, coerceText(raw, leaf.schema));
    origin.set(leaf.path.join('.'), `from ${name}`);
  }
  for (const [path, raw] of Object.entries(sources.flags ?? {})) {
    const leaf = leaves.find((candidate) => candidate.path.join('.') === path);
    if (!leaf) throw new PharosError('CONFIG_INVALID', `unknown setting ${path}`);
    setPath(merged, leaf.path, coerceText(raw, leaf.schema));
    origin.set(path, `from ${String(leaf.schema.flag ?? 'flag').split(' ')[0]}`);
  }
  return validateConfig(merged, origin);
}

/** `PHAROS_*` variables that are neither settings nor reserved: most likely typos, worth a warning. */
export function unknownPharosVariables(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = new Set(configLeaves().map((leaf) => envName(leaf.path)));
  return Object.keys(env)
    .filter((name) => name.startsWith('PHAROS_') && !known.has(name) && !RESERVED_ENV.has(name))
    .sort();
}

/** Validates a configuration object (as read from YAML) and decodes sizes, durations and addresses. */
export function validateConfig(
  input: unknown,
  origin = new Map<string, string>(),
): Readonly<PharosConfig> {
  const withDefaults = Value.Default(ConfigSchema, structuredClone(input ?? {}));
  const first = Value.Errors(ConfigSchema, withDefaults).First();
  if (first) throw configError(pointerToPath(first.path), describeError(first), origin);
  let config: PharosConfig;
  try {
    config = Value.Decode(ConfigSchema, withDefaults);
  } catch (error) {
    if (error instanceof TransformDecodeError) {
      throw configError(pointerToPath(error.path), error.message, origin);
    }
    throw error;
  }
  checkRelations(config, origin);
  return deepFreeze(config);
}

/** Rules that tie settings together, which the per-field schema cannot express. */
function checkRelations(config: PharosConfig, origin: Map<string, string>): void {
  if (config.ingest.headersTimeout > config.ingest.bodyTimeout) {
    throw configError(
      'ingest.headersTimeout',
      `must not exceed ingest.bodyTimeout (${config.ingest.bodyTimeout} ms), which covers the whole request`,
      origin,
    );
  }
  const labelSets: [string, Record<string, string> | undefined][] = [
    ['sinks.loki.labels', config.sinks.loki.labels],
    ...config.tenants.map((tenant, index): [string, Record<string, string> | undefined] => [
      `tenants[${index}].sinks.loki.labels`,
      tenant.sinks?.loki?.labels,
    ]),
  ];
  for (const [path, labels] of labelSets) {
    for (const name of Object.keys(labels ?? {})) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) {
        throw configError(
          path,
          `${JSON.stringify(name)} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)`,
          origin,
        );
      }
    }
  }
  const privacyProblem = [
    ...privacyConfigProblems(config.privacy, 'privacy'),
    ...config.tenants.flatMap((tenant, index) =>
      privacyConfigProblems(tenant.privacy ?? {}, `tenants[${index}].privacy`),
    ),
  ][0];
  if (privacyProblem) throw configError(privacyProblem.path, privacyProblem.reason, origin);
  config.grouping.libraryPatterns.forEach((pattern, index) => {
    try {
      new RegExp(pattern);
    } catch (error) {
      throw configError(`grouping.libraryPatterns[${index}]`, (error as Error).message, origin);
    }
  });
  if (config.admin.token !== '' && config.admin.token.length < 24) {
    throw configError('admin.token', 'must be at least 24 characters', origin);
  }
}

/** A YAML configuration file as a plain mapping; an empty file is `{}`. */
export function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PharosError(
      'CONFIG_FILE_UNREADABLE',
      `cannot read ${file}: ${(error as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new PharosError(
      'CONFIG_FILE_UNREADABLE',
      `${file} is not valid YAML: ${(error as Error).message}`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PharosError(
      'CONFIG_FILE_UNREADABLE',
      `${file} must hold a YAML mapping at the top level`,
    );
  }
  return parsed as Json;
}

function configError(path: string, reason: string, origin: Map<string, string>): PharosError {
  // Report where the bad value came from: the closest configured ancestor of the path.
  let source: string | undefined;
  for (
    let key = path;
    key && !source;
    key = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : ''
  ) {
    source = origin.get(key);
  }
  const where = path || '(root)';
  return new PharosError('CONFIG_INVALID', `${where}: ${reason}${source ? ` (${source})` : ''}`);
}

function describeError(error: ValueError): string {
  const kind = error.schema['x-kind'] as string | undefined;
  const got = error.value === undefined ? '' : ` (got ${JSON.stringify(error.value)})`;
  if (kind === 'bytes') return `expected a byte size such as "5MiB"${got}`;
  if (kind === 'duration') return `expected a duration such as "30s"${got}`;
  const literals = (error.schema.anyOf as TSchema[] | undefined)?.map(
    (option) => option.const as unknown,
  );
  if (literals?.every((value) => typeof value === 'string')) {
    return `expected one of ${literals.join(', ')}${got}`;
  }
  if (error.message === 'Unexpected property') return 'unknown setting';
  return `${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}${got}`;
}

/** Turns an env or flag string into the type the leaf expects, so that validation can judge it. */
function coerceText(raw: string, schema: TSchema): unknown {
  const text = raw.trim();
  if (schema.type === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(text)) return true;
    if (/^(false|0|no|off)$/i.test(text)) return false;
    return text;
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    return text !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
  }
  if (schema.type === 'object') {
    // Maps (labels, headers) come from a variable as JSON: PHAROS_SINKS_LOKI_LABELS='{"cluster":"eu-1"}'.
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (schema.type === 'array') {
    return text === '' ? [] : text.split(',').map((part) => part.trim());
  }
  return text;
}

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1] as string] = value;
}

function originOfAll(
  value: unknown,
  path: string,
  source: string,
  origin: Map<string, string>,
): void {
  if (path) origin.set(path, source);
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      originOfAll(child, childPath, source, origin);
    }
  }
}

/** `/tenants/0/apps/1/keys/0` → `tenants[0].apps[1].keys[0]`. */
function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '')
    .replace(/\.\[/g, '[');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
