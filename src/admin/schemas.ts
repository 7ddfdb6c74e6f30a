import { Type, type TSchema } from '@sinclair/typebox';
import { ConfigSchema, LimitsSchema } from '../config/schema.js';
import { SLUG_PATTERN } from '../lib/ids.js';

/**
 * The JSON shapes of the admin API. Fastify validates requests and serialises answers with them,
 * and @fastify/swagger turns them into docs/openapi.json: the document is the code.
 * Request schemas reuse the config file's (limits, tenant sink overrides), so the file and the
 * API accept the same things.
 */

export { LimitsSchema };
/** A tenant's overrides of the global sink settings, exactly as `tenants[].sinks` in the file. */
export const TenantSinksSchema = ConfigSchema.properties.tenants.items.properties.sinks;

const Id = (description: string) => Type.String({ pattern: SLUG_PATTERN, description });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Millis = (description: string) => Type.Number({ description });
const NullableMillis = (description: string) =>
  Type.Union([Type.Number(), Type.Null()], { description });
const Source = Type.Union([Type.Literal('config'), Type.Literal('api'), Type.Literal('demo')], {
  description: '`config`: managed by the config file (the API refuses to change it).',
});
const Origins = Type.Array(Type.String({ minLength: 1 }), {
  maxItems: 100,
  description:
    'Browser origins allowed to send (`https://shop.example`, `https://*.example`, `http://localhost:*`, `*`). Empty: any origin.',
});
const Environments = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  maxItems: 50,
  description: 'Environments the app reports (`meta.app.environment`). Empty: any.',
});
const SamplingRate = Type.Number({
  minimum: 0,
  maximum: 1,
  description: 'Share of sessions kept, 0..1, decided per session.',
});
const UrlPatterns = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { maxItems: 100, description });

export const ErrorBodySchema = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ description: 'A stable `PHAROS_ERR_*` code (docs/errors.md).' }),
    error: Type.String(),
    message: Type.String(),
  },
  { description: 'An error: its stable code and what to do about it.' },
);

// --- tenants ---

export const TenantSchema = Type.Object(
  {
    id: Id('Tenant id.'),
    name: Type.String(),
    orgId: Type.Union([Type.String(), Type.Null()], {
      description: '`X-Scope-OrgID` for its Loki and Tempo data; null: the tenant id.',
    }),
    sinks: TenantSinksSchema,
    limits: LimitsSchema,
    source: Source,
    createdAt: Millis('Milliseconds since the epoch.'),
    updatedAt: Millis('Milliseconds since the epoch.'),
  },
  { description: 'A tenant. Sink header values are shown only to admin tokens.' },
);

export const TenantParams = Type.Object({ tenant: Id('Tenant id.') });

export const TenantCreateBody = Type.Object(
  {
    id: Id('Tenant id: 1–64 lower-case letters, digits, dashes.'),
    name: Type.Optional(Name),
    orgId: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
    sinks: Type.Optional(TenantSinksSchema),
    limits: Type.Optional(LimitsSchema),
  },
  {
    additionalProperties: false,
    examples: [
      { id: 'acme', name: 'ACME Corp', limits: { requests: { perSecond: 100, burst: 200 } } },
    ],
  },
);

export const TenantPatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    orgId: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
    sinks: Type.Optional(TenantSinksSchema),
    limits: Type.Optional(LimitsSchema),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'The fields to change; each one given replaces the current value whole.',
    examples: [{ name: 'ACME Corporation', orgId: 'acme-prod' }],
  },
);

export const TenantDeleteQuery = Type.Object(
  {
    cascade: Type.Optional(
      Type.Boolean({
        description:
          'Delete its apps (and their keys) too; without it, a tenant with apps is refused.',
      }),
    ),
  },
  { additionalProperties: false },
);

// --- apps and keys ---

export const KeySchema = Type.Object({
  key: Type.String({ description: 'The app key (a public identifier, like a DSN).' }),
  createdAt: Millis('Milliseconds since the epoch.'),
  expiresAt: NullableMillis('After this the key is refused (rotation grace); null: no expiry.'),
});

export const AppSchema = Type.Object(
  {
    id: Id('App id.'),
    tenantId: Id('Tenant id.'),
    name: Type.String(),
    allowedOrigins: Origins,
    environments: Environments,
    samplingRate: SamplingRate,
    tracePropagationUrls: UrlPatterns(
      'Regular expressions of URLs whose requests get a `traceparent` header from the browser.',
    ),
    ignoreUrls: UrlPatterns('Regular expressions of URLs the browser SDK does not instrument.'),
    limits: LimitsSchema,
    source: Source,
    createdAt: Millis('Milliseconds since the epoch.'),
    updatedAt: Millis('Milliseconds since the epoch.'),
    keys: Type.Array(KeySchema),
    ingestUrl: Type.String({
      description:
        'The URL to put in the Faro SDK config (newest live key); empty without a live key.',
    }),
  },
  { description: 'An app with its keys and ingest URL.' },
);

export const AppParams = Type.Object({ app: Id('App id.') });
export const AppsQuery = Type.Object(
  { tenant: Type.Optional(Id('Only the apps of this tenant.')) },
  { additionalProperties: false },
);

const appSettings = {
  allowedOrigins: Type.Optional(Origins),
  environments: Type.Optional(Environments),
  samplingRate: Type.Optional(SamplingRate),
  tracePropagationUrls: Type.Optional(
    UrlPatterns('Regular expressions of URLs that get a `traceparent` header.'),
  ),
  ignoreUrls: Type.Optional(UrlPatterns('Regular expressions of URLs not to instrument.')),
  limits: Type.Optional(LimitsSchema),
};

export const AppCreateBody = Type.Object(
  {
    tenantId: Id('The tenant the app belongs to (for good: apps do not move).'),
    id: Type.Optional(Id('App id (default: the name, when it is a valid id).')),
    name: Name,
    ...appSettings,
  },
  {
    additionalProperties: false,
    examples: [
      {
        tenantId: 'acme',
        id: 'shop',
        name: 'Shop',
        allowedOrigins: ['https://shop.acme.example'],
        environments: ['production'],
        samplingRate: 0.5,
      },
    ],
  },
);

export const AppCreated = Type.Composite(
  [AppSchema, Type.Object({ key: Type.String({ description: 'The first key of the app.' }) })],
  { description: 'The app, and its first key.' },
);

export const AppPatchBody = Type.Object(
  { name: Type.Optional(Name), ...appSettings },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'The settings to change; each one given replaces the current value whole.',
    examples: [{ samplingRate: 0.25, allowedOrigins: ['https://shop.acme.example'] }],
  },
);

export const AppDeleted = Type.Object(
  {
    app: Type.Omit(AppSchema, ['keys', 'ingestUrl']),
    revokedTokens: Type.Array(Type.String(), {
      description: 'Ids of the tokens revoked with it (scoped to its source maps).',
    }),
  },
  { description: 'The deleted app.' },
);

export const TenantDeleted = Type.Object(
  {
    tenant: TenantSchema,
    apps: Type.Array(Type.String(), { description: 'Ids of the apps deleted with it.' }),
    revokedTokens: Type.Array(Type.String(), { description: 'Ids of the tokens revoked with it.' }),
  },
  { description: 'The deleted tenant.' },
);

export const KeysList = Type.Object(
  { keys: Type.Array(KeySchema) },
  { description: "The app's keys, oldest first." },
);

export const RotateBody = Type.Object(
  {
    grace: Type.Optional(
      Type.Union([Type.String(), Type.Number({ minimum: 0 })], {
        description: 'How long the previous keys keep working: `24h`, `0s`, or milliseconds.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'May be left out: the configured grace applies (24 h).',
    examples: [{ grace: '24h' }],
  },
);

export const RotateResult = Type.Object(
  {
    key: Type.String(),
    previousKeysExpireAt: Type.String({ format: 'date-time' }),
    ingestUrl: Type.String(),
  },
  { description: 'The new key; the previous ones expire at `previousKeysExpireAt`.' },
);

export const KeyParams = Type.Object({ app: Id('App id.'), key: Type.String({ minLength: 1 }) });

export const KeyRevoked = Type.Object(
  { revoked: KeySchema, keys: Type.Array(KeySchema, { description: 'The keys left.' }) },
  { description: 'The revoked key; it is refused from now on.' },
);

// --- tokens ---

export const ScopeSchema = Type.String({
  pattern: `^(admin|(tenant|sourcemaps):${SLUG_PATTERN.slice(1, -1)})$`,
  description: '`admin`, `tenant:<tenant id>` or `sourcemaps:<app id>`.',
});

export const TokenSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    scopes: Type.Array(ScopeSchema),
    tenantId: Type.Union([Type.String(), Type.Null()], {
      description: 'The one tenant all its scopes belong to; null for admin or several tenants.',
    }),
    createdAt: Millis('Milliseconds since the epoch.'),
    expiresAt: NullableMillis('After this the token is refused; null: no expiry.'),
    revokedAt: NullableMillis('When it was revoked; null: not revoked.'),
  },
  { description: 'A token, without its secret (which is shown once, when created).' },
);

export const TokenParams = Type.Object({
  token: Type.String({ minLength: 1, description: 'Token id.' }),
});
export const TokensQuery = Type.Object(
  { tenant: Type.Optional(Id('Only the tokens of this tenant.')) },
  { additionalProperties: false },
);

export const TokenCreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, description: 'What it is for (`ci-shop`).' }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: 50 }),
    expiresIn: Type.Optional(Type.String({ description: 'A duration from now: `90d`, `12h`.' })),
    expiresAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'An RFC 3339 time.' }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ name: 'ci-shop', scopes: ['sourcemaps:shop'], expiresIn: '90d' }],
  },
);

export const TokenCreated = Type.Composite(
  [
    TokenSchema,
    Type.Object({
      token: Type.String({
        description: 'The token itself. It is shown this once and never stored.',
      }),
    }),
  ],
  { description: 'The new token; store `token` now: it cannot be shown again.' },
);

// --- limits ---

export const LimitsView = Type.Object(
  {
    limits: LimitsSchema,
    defaults: LimitsSchema,
    effective: LimitsSchema,
  },
  {
    description:
      'Its own limits, the configured defaults of its level, and the effective ones (own limits replace defaults field by field, `kinds` kind by kind).',
  },
);

export const LimitsBody = Type.Object(LimitsSchema.properties, {
  additionalProperties: false,
  description: 'The new limits, replacing the current ones whole (`{}`: the defaults apply).',
  examples: [
    { requests: { perSecond: 100, burst: 200 }, kinds: { log: { perSecond: 50, burst: 100 } } },
  ],
});

// --- audit ---

export const AuditEntrySchema = Type.Object({
  id: Type.Integer(),
  at: Millis('Milliseconds since the epoch.'),
  actor: Type.String({ description: 'The token that made the change: `name (token <id>)`.' }),
  action: Type.String({
    description: '`tenant.create`, `app.update`, `key.rotate`, `token.revoke`, `limits.update`…',
  }),
  target: Type.String({ description: '`tenant:acme`, `app:shop`, `token:<id>`.' }),
  tenantId: Type.Union([Type.String(), Type.Null()]),
  before: Type.Unknown({
    description: 'The object before the change (no secrets); null on creation.',
  }),
  after: Type.Unknown({
    description: 'The object after the change (no secrets); null on deletion.',
  }),
});

export const AuditQuery = Type.Object(
  {
    tenant: Type.Optional(Id('Only changes of this tenant.')),
    before: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Entries older than this id (`nextBefore` of the previous page).',
      }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);

export const AuditPage = Type.Object(
  {
    entries: Type.Array(AuditEntrySchema),
    nextBefore: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Pass as `before` for the next (older) page; null: no more.',
    }),
  },
  { description: 'Changes, newest first.' },
);

// --- answers, with the errors every authenticated route may give ---

/** The responses of a route: its success and the errors it documents (all with the error body). */
export function responses(
  success: Record<number, TSchema>,
  errors: readonly number[] = [400, 401, 403, 404],
): Record<number, TSchema> {
  const all: Record<number, TSchema> = { ...success };
  for (const status of errors) all[status] = ErrorBodySchema;
  return all;
}

/** Scopes that may call a route, for docs/openapi.json (`x-scopes`) and docs/api.md. */
export const SCOPES = {
  admin: ['admin'],
  tenant: ['admin', 'tenant:<tenant>'],
  app: ['admin', "tenant:<app's tenant>"],
  anyToken: ['admin', 'tenant:<id>'],
} as const;
