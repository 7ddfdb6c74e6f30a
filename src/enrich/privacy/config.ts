import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_QUERY_PARAMS } from './rules/query-params.js';

/**
 * The privacy settings: a global `privacy` block and a per-tenant override
 * (`tenants[].privacy`). Built here, used by `src/config/schema.ts`, so that the schema, the
 * enricher and `pharos privacy dry-run` cannot disagree.
 */

/** Where a string sits in a payload. Custom rules name the kinds they apply to. */
export const FIELD_KINDS = [
  /** Log messages, exception values and types, span status messages. */
  'message',
  /** Values of `context` maps (logs, exceptions, measurements). */
  'context',
  /** Values of event attributes and of meta user/session/page attributes. */
  'attribute',
  /** `meta.page.url` and URL-valued attributes (`url.full`, `http.url`, resource `name`, …). */
  'url',
  /** Stack frame file names, functions and modules. */
  'frame',
  /** OTLP attributes of spans, span events, links, resources and scopes. */
  'spanAttribute',
  /** Other meta fields: user id, username, e-mail, browser, app, geo, … */
  'meta',
  /** Event, span, span-event, measurement and user-action names. */
  'name',
  /** Everything else, including fields Pharos does not know (the model keeps them). */
  'other',
] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];

export const BUILT_IN_RULES = [
  'queryParams',
  'jwt',
  'bearer',
  'email',
  'creditCard',
  'ipAddress',
] as const;
export type BuiltInRule = (typeof BUILT_IN_RULES)[number];

const RULE_DESCRIPTIONS: Record<BuiltInRule, [defaultOn: boolean, description: string]> = {
  queryParams: [
    true,
    'Drop the parameters named in `queryParams` and `extraQueryParams` from every URL, in its query and its fragment, wherever it appears (page URL, frame file names, attributes, messages).',
  ],
  jwt: [true, 'Replace JSON Web Tokens (`eyJ…` and two more base64url segments) with `[jwt]`.'],
  bearer: [true, 'Replace the credential of `Bearer <token>` with `[token]`.'],
  email: [
    true,
    'Replace e-mail addresses (also `%40`-encoded) with `[email]`, in every field including `meta.user.email` (see `keepUserEmail`).',
  ],
  creditCard: [
    true,
    'Replace card numbers with `[card]`: 13–19 digits in one run or in the usual groups (spaces or dashes), Luhn-valid, with the prefix and length of a card network; numbers failing Luhn stay.',
  ],
  ipAddress: [
    false,
    'Replace IPv4 and IPv6 addresses in text with `[ip]`. Off by default: payloads hold server addresses (URLs, `server.address`); Pharos never adds the client address anywhere, whatever this says.',
  ],
};

const NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,62}$';
/** `meta.<section>`, `meta.<section>.<field>`, `meta.<section>.attributes.<key>`, `context.<key>`, `attributes.<key>`. */
export const DROP_FIELD_PATTERN =
  '^(?:meta\\.[A-Za-z]+(?:\\.[A-Za-z_]+)?|meta\\.[A-Za-z]+\\.attributes\\..+|context\\..+|attributes\\..+)$';

const CustomRule = Type.Object(
  {
    name: Type.String({
      pattern: NAME_PATTERN,
      description: 'Name in metrics and the dry-run report.',
    }),
    pattern: Type.String({ minLength: 1, description: 'JavaScript regular expression.' }),
    flags: Type.String({
      pattern: '^[imsu]*$',
      default: '',
      description: 'Regex flags among i, m, s, u (g is implied).',
    }),
    replacement: Type.String({
      default: '[redacted]',
      description: 'Replacement text; `$1` and `$<name>` refer to groups.',
    }),
    fields: Type.Array(Type.Union(FIELD_KINDS.map((kind) => Type.Literal(kind))), {
      minItems: 1,
      default: [...FIELD_KINDS],
      description: `Field kinds it applies to: ${FIELD_KINDS.join(', ')} (default all).`,
    }),
  },
  { additionalProperties: false },
);

function ruleSwitches(withDefaults: boolean) {
  const switchOf = (rule: BuiltInRule) => {
    const [on, description] = RULE_DESCRIPTIONS[rule];
    return Type.Boolean({ ...(withDefaults ? { default: on } : {}), description });
  };
  return {
    queryParams: switchOf('queryParams'),
    jwt: switchOf('jwt'),
    bearer: switchOf('bearer'),
    email: switchOf('email'),
    creditCard: switchOf('creditCard'),
    ipAddress: switchOf('ipAddress'),
  };
}

function settingFields<T>(withDefaults: boolean, rules: T) {
  const d = <V>(value: V) => (withDefaults ? { default: value } : {});
  return {
    enabled: Type.Boolean({
      ...d(true),
      description:
        'Apply the privacy rules to every accepted payload, before any sink sees it (store, Loki, traces, metrics).',
    }),
    rules,
    keepUserEmail: Type.Boolean({
      ...d(false),
      description:
        'Keep `meta.user.email` (and the `user.email` attribute the SDK copies onto spans and events) although the `email` rule is on; e-mails elsewhere are still redacted.',
    }),
    queryParams: Type.Array(Type.String({ minLength: 1 }), {
      ...d([...DEFAULT_QUERY_PARAMS]),
      description:
        'Query and fragment parameters dropped from URLs (case-insensitive). Setting it replaces the default list; `extraQueryParams` adds to it.',
    }),
    extraQueryParams: Type.Array(Type.String({ minLength: 1 }), {
      ...d([]),
      description: 'Parameters dropped in addition to `queryParams`.',
    }),
    dropFields: Type.Array(Type.String({ pattern: DROP_FIELD_PATTERN }), {
      ...d([]),
      description:
        'Fields removed entirely: `meta.<section>[.<field>]` (e.g. `meta.user.fullName`, `meta.geo`), `meta.<section>.attributes.<key>`, `context.<key>` (every item context), `attributes.<key>` (event and OTLP attributes).',
    }),
    customRules: Type.Array(CustomRule, {
      ...d([]),
      description: 'Extra regex rules, applied after the built-in ones, to the field kinds named.',
    }),
  };
}

/** The global `privacy` block, every setting with its default. */
export const PrivacySettingsSchema = Type.Object(
  settingFields(
    true,
    Type.Object(ruleSwitches(true), {
      default: {},
      additionalProperties: false,
      description: 'The built-in rules, each on or off.',
    }),
  ),
  {
    default: {},
    additionalProperties: false,
    description:
      'Privacy rules applied to every payload after validation and before any sink (`pharos privacy dry-run` shows what they change in a payload).',
  },
);

/**
 * A tenant's `privacy` block: any setting of the global block. Switches, `keepUserEmail`,
 * `enabled` and `queryParams` replace the global value; `extraQueryParams`, `dropFields` and
 * `customRules` add to the global ones.
 */
export const TenantPrivacySchema = Type.Partial(
  Type.Object(
    settingFields(
      false,
      Type.Partial(Type.Object(ruleSwitches(false), { additionalProperties: false })),
    ),
    { additionalProperties: false },
  ),
  { description: "Overrides of the global `privacy` rules for this tenant's apps." },
);

export type PrivacySettings = Static<typeof PrivacySettingsSchema>;
export type TenantPrivacySettings = Static<typeof TenantPrivacySchema>;
export type CustomRuleSettings = Static<typeof CustomRule>;

/** The rules in force for one tenant: the global block with the tenant's override applied. */
export interface EffectivePrivacySettings {
  enabled: boolean;
  rules: Record<BuiltInRule, boolean>;
  keepUserEmail: boolean;
  queryParams: string[];
  dropFields: string[];
  customRules: CustomRuleSettings[];
}

export function resolvePrivacySettings(
  global: PrivacySettings,
  tenant: TenantPrivacySettings = {},
): EffectivePrivacySettings {
  const unique = (values: readonly string[]) => [...new Set(values)];
  return {
    enabled: tenant.enabled ?? global.enabled,
    rules: { ...global.rules, ...definedOnly(tenant.rules ?? {}) },
    keepUserEmail: tenant.keepUserEmail ?? global.keepUserEmail,
    queryParams: unique([
      ...(tenant.queryParams ?? global.queryParams),
      ...global.extraQueryParams,
      ...(tenant.extraQueryParams ?? []),
    ]),
    dropFields: unique([...global.dropFields, ...(tenant.dropFields ?? [])]),
    customRules: [...global.customRules, ...(tenant.customRules ?? [])],
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, entry]) => entry !== undefined),
  ) as Partial<T>;
}

/** A setting the schema accepts but that cannot work, with where it is (`privacy.customRules[0].pattern`). */
export interface PrivacyConfigProblem {
  path: string;
  reason: string;
}

/**
 * Checks what the schema cannot: custom patterns compile, do not match the empty string (which
 * would insert the replacement between every two characters), and names are unique.
 */
export function privacyConfigProblems(
  settings: { customRules?: readonly CustomRuleSettings[] | undefined },
  path: string,
): PrivacyConfigProblem[] {
  const problems: PrivacyConfigProblem[] = [];
  const names = new Set<string>();
  (settings.customRules ?? []).forEach((rule, index) => {
    const at = `${path}.customRules[${index}]`;
    if (names.has(rule.name)) {
      problems.push({
        path: `${at}.name`,
        reason: `duplicate rule name ${JSON.stringify(rule.name)}`,
      });
    }
    names.add(rule.name);
    let pattern: RegExp;
    try {
      pattern = new RegExp(rule.pattern, rule.flags);
    } catch (error) {
      problems.push({ path: `${at}.pattern`, reason: (error as Error).message });
      return;
    }
    if (pattern.test('')) {
      problems.push({ path: `${at}.pattern`, reason: 'must not match the empty string' });
    }
  });
  return problems;
}
