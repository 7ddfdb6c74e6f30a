import { PharosError } from '../../errors/index.js';
import {
  FIELD_KINDS,
  privacyConfigProblems,
  type BuiltInRule,
  type EffectivePrivacySettings,
  type FieldKind,
} from './config.js';
import { ScrubMemo, type ScrubOutcome } from './memo.js';
import { creditCardRule } from './rules/card.js';
import { emailRule } from './rules/email.js';
import { ipAddressRule } from './rules/ip.js';
import { createQueryParamRule } from './rules/query-params.js';
import { bearerRule, jwtRule } from './rules/tokens.js';
import type { TextRule } from './rules/types.js';

/** A custom rule, compiled: its regex is built once, at start. */
interface CompiledCustomRule {
  readonly index: number;
  readonly pattern: RegExp;
  readonly replacement: string;
}

/**
 * The rules of one tenant, compiled once (at start, or by the dry-run) and then only read on the
 * hot path: regexes built, rule lists per field kind resolved, drop lists split by where they act.
 */
export interface PrivacyPolicy {
  readonly enabled: boolean;
  /** Rule names by index: built-in rules first, in the order they run, then custom rules. */
  readonly ruleNames: readonly string[];
  readonly builtIns: readonly TextRule[];
  /** The built-in rules' triggers in one regex: a string that fails it skips them all. */
  readonly trigger: RegExp;
  /** Index of the e-mail rule in `builtIns`, -1 when it is off. */
  readonly emailIndex: number;
  /** Index of the card rule, -1 when off: also applied to number fields that hold a card number. */
  readonly cardIndex: number;
  readonly customByKind: ReadonlyMap<FieldKind, readonly CompiledCustomRule[]>;
  readonly keepUserEmail: boolean;
  /** `meta.*` paths to delete, as segments (`['user', 'attributes', 'ssn']`). */
  readonly dropMeta: readonly (readonly string[])[];
  /** Keys deleted from every item `context`. */
  readonly dropContext: ReadonlySet<string>;
  /** Keys deleted from event attributes and OTLP attribute lists. */
  readonly dropAttributes: ReadonlySet<string>;
  /** What the rules made of strings seen before (this policy's rules only). */
  readonly memo: ScrubMemo;
}

/** Built-in rules in the order they run: URL parameters first (they may hold a JWT whole). */
const BUILT_IN_ORDER: readonly BuiltInRule[] = [
  'queryParams',
  'jwt',
  'bearer',
  'email',
  'creditCard',
  'ipAddress',
];

export function compilePrivacyPolicy(settings: EffectivePrivacySettings): PrivacyPolicy {
  const problem = privacyConfigProblems(settings, 'privacy')[0];
  if (problem) throw new PharosError('CONFIG_INVALID', `${problem.path}: ${problem.reason}`);

  const builtIns: TextRule[] = [];
  for (const name of BUILT_IN_ORDER) {
    if (!settings.rules[name]) continue;
    builtIns.push(builtInRule(name, settings));
  }
  const ruleNames = [...builtIns.map((rule) => rule.name)];
  const customByKind = new Map<FieldKind, CompiledCustomRule[]>(
    FIELD_KINDS.map((kind) => [kind, []]),
  );
  for (const rule of settings.customRules) {
    const compiled: CompiledCustomRule = {
      index: ruleNames.length,
      pattern: new RegExp(rule.pattern, `${rule.flags}g`),
      replacement: rule.replacement,
    };
    ruleNames.push(rule.name);
    for (const kind of rule.fields) customByKind.get(kind)?.push(compiled);
  }

  const dropMeta: string[][] = [];
  const dropContext = new Set<string>();
  const dropAttributes = new Set<string>();
  for (const field of settings.dropFields) {
    if (field.startsWith('context.')) dropContext.add(field.slice('context.'.length));
    else if (field.startsWith('attributes.')) dropAttributes.add(field.slice('attributes.'.length));
    else dropMeta.push(metaPath(field));
  }

  return {
    enabled: settings.enabled,
    ruleNames,
    builtIns,
    // With no rule on, a regex that never matches.
    trigger: new RegExp(builtIns.map((rule) => `(?:${rule.trigger})`).join('|') || '(?!)'),
    emailIndex: builtIns.indexOf(emailRule),
    cardIndex: builtIns.indexOf(creditCardRule),
    customByKind,
    keepUserEmail: settings.keepUserEmail,
    dropMeta,
    dropContext,
    dropAttributes,
    memo: new ScrubMemo(new Map(FIELD_KINDS.map((kind, index) => [kind, index]))),
  };
}

function builtInRule(name: BuiltInRule, settings: EffectivePrivacySettings): TextRule {
  switch (name) {
    case 'queryParams':
      return createQueryParamRule(settings.queryParams);
    case 'jwt':
      return jwtRule;
    case 'bearer':
      return bearerRule;
    case 'email':
      return emailRule;
    case 'creditCard':
      return creditCardRule;
    case 'ipAddress':
      return ipAddressRule;
  }
}

/** `meta.user.attributes.a.b` → `['user', 'attributes', 'a.b']`: attribute keys may hold dots. */
function metaPath(field: string): string[] {
  const [, section = '', rest] = /^meta\.([^.]+)(?:\.(.+))?$/.exec(field) ?? [];
  if (rest === undefined) return [section];
  if (rest.startsWith('attributes.')) {
    return [section, 'attributes', rest.slice('attributes.'.length)];
  }
  return [section, rest];
}

/**
 * Applies the rules to one string. `counts[i]` is incremented for each rule that changed it.
 * `keepEmail` exempts the string from the e-mail rule (`keepUserEmail`). A string the policy has
 * scrubbed before is answered from its memo, with the same counts.
 */
export function scrubText(
  policy: PrivacyPolicy,
  text: string,
  kind: FieldKind,
  counts: number[],
  keepEmail = false,
): string {
  const slot = policy.memo.slot(text, kind, keepEmail);
  let outcome = slot?.get(text);
  if (outcome === undefined) {
    outcome = applyRules(policy, text, kind, keepEmail);
    if (slot !== undefined) policy.memo.remember(slot, text, outcome);
  }
  for (const index of outcome.rules) counts[index] = (counts[index] ?? 0) + 1;
  return outcome.text;
}

const UNCHANGED: readonly number[] = [];

function applyRules(
  policy: PrivacyPolicy,
  text: string,
  kind: FieldKind,
  keepEmail: boolean,
): ScrubOutcome {
  let out = text;
  let changedBy: number[] | undefined;
  const { builtIns } = policy;
  const triggered = policy.trigger.test(text);
  for (let index = 0; triggered && index < builtIns.length; index++) {
    if (keepEmail && index === policy.emailIndex) continue;
    const rule = builtIns[index] as TextRule;
    if (!rule.mayMatch(out)) continue;
    const next = rule.apply(out);
    if (next !== out) {
      (changedBy ??= []).push(index);
      out = next;
    }
  }
  const custom = policy.customByKind.get(kind);
  if (custom) {
    for (const rule of custom) {
      rule.pattern.lastIndex = 0;
      const next = out.replace(rule.pattern, rule.replacement);
      if (next !== out) {
        (changedBy ??= []).push(rule.index);
        out = next;
      }
    }
  }
  return { text: out, rules: changedBy ?? UNCHANGED };
}
