import { type TSchema } from '@sinclair/typebox';
import { ConfigSchema, configLeaves, envName } from './schema.js';

/**
 * Renders docs/config.md from the schema, so the reference can never drift from what
 * `pharos start` accepts (a test compares the two; `npm run docs` rewrites the file).
 */
export function renderConfigReference(): string {
  const rows = configLeaves().map(({ path, schema }) => {
    const flag = typeof schema.flag === 'string' ? `\`${schema.flag.split(' ')[0]}\`` : '';
    return `| \`${path.join('.')}\` | ${typeLabel(schema)} | ${defaultLabel(schema)} | \`${envName(path)}\` | ${flag} | ${escape(String(schema.description ?? ''))} |`;
  });
  const tenants = (ConfigSchema.properties.tenants as TSchema).description as string;
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    'Pharos reads one configuration, from three sources. Later sources win:',
    '',
    '1. a YAML file: `pharos start --config pharos.yaml` (or `PHAROS_CONFIG=pharos.yaml`);',
    '2. environment variables, named after the setting path (`ingest.maxBodyBytes` → `PHAROS_INGEST_MAX_BODY_BYTES`); lists are comma-separated;',
    '3. flags of `pharos start`.',
    '',
    'Everything is validated at start. A bad value stops Pharos with `PHAROS_ERR_CONFIG_INVALID` and names the setting and where it came from;',
    '`pharos config check <file>` runs the same validation without starting. Unknown settings in the file are errors;',
    'unknown `PHAROS_*` variables (other than `PHAROS_CONFIG`, and `PHAROS_URL` / `PHAROS_TOKEN`, which the CLI reads) are',
    'ignored with a warning at start.',
    '',
    'Sizes take `B`, `KB`/`MB`/`GB` (powers of 1000) or `KiB`/`MiB`/`GiB` (powers of 1024); durations take `ms`, `s`, `m`, `h`, `d`.',
    '',
    '| setting | type | default | environment | flag | meaning |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    '## Declarative tenants and apps',
    '',
    escape(tenants),
    '',
    '```yaml',
    'tenants:',
    '  - id: acme',
    '    name: ACME Corp',
    '    apps:',
    '      - id: shop',
    '        name: Shop',
    '        allowedOrigins: [https://shop.acme.example, https://*.preview.acme.example]',
    '        keys: [pk_shop_2f8c1d0e9a7b4c5d]',
    '```',
    '',
    'App keys are public identifiers (they ship inside the web page), like a Sentry DSN: keep them',
    'in the file as they are. The origin list is what stops other sites from sending with your key.',
    '',
  ].join('\n');
}

function typeLabel(schema: TSchema): string {
  const kind = schema['x-kind'] as string | undefined;
  if (kind === 'limits') return 'limits (JSON in a variable)';
  if (kind) return kind === 'address' ? 'host:port' : kind;
  if (Array.isArray(schema.anyOf))
    return (schema.anyOf as TSchema[]).map((option) => String(option.const)).join(' \\| ');
  if (schema.type === 'array') return `list of ${String((schema.items as TSchema).type)}`;
  if (schema.type === 'object') return 'map (JSON in a variable)';
  return String(schema.type);
}

function defaultLabel(schema: TSchema): string {
  const value = schema.default as unknown;
  if (value === '') return '(empty)';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : `\`${value.join(',')}\``;
  if (typeof value === 'object' && value !== null)
    return Object.keys(value).length === 0 ? '(none)' : `\`${JSON.stringify(value)}\``;
  return `\`${String(value)}\``;
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|');
}
