import { parseByteSize } from '../lib/units.js';
import type { Limits, RateLimit } from './api-types.js';
import { ApiError } from './client.js';

export const LIMIT_KINDS = ['log', 'exception', 'measurement', 'event', 'span'] as const;
type Kind = (typeof LIMIT_KINDS)[number];

const PERIOD_SECONDS: Record<string, number> = { s: 1, sec: 1, m: 60, min: 60, h: 3600 };

/**
 * Reads a rate as people write it: `100/s`, `6000/m`, `5MiB/s` (bytes), optionally with its own
 * burst after a colon: `100/s:200`. Without one, `burst` (the `--burst` flag) or one second's
 * worth applies.
 */
export function parseRate(text: string, what: string, burst?: number): RateLimit {
  const [rate = '', ownBurst] = text.split(':');
  const match = /^\s*([^/]+?)\s*\/\s*([a-z]+)\s*$/i.exec(rate);
  const seconds = match ? PERIOD_SECONDS[(match[2] as string).toLowerCase()] : undefined;
  const amount = match ? amountOf(match[1] as string, what) : undefined;
  if (amount === undefined || seconds === undefined || !(amount > 0)) {
    throw new ApiError(
      `--${what} ${JSON.stringify(text)}: expected a rate such as 100/s, 6000/m${what === 'bytes' ? ', 5MiB/s' : ''} (burst after a colon: 100/s:200)`,
      'PHAROS_CLI_INVALID_FLAG',
    );
  }
  const perSecond = amount / seconds;
  const explicit = ownBurst === undefined ? burst : amountOf(ownBurst, what);
  if (explicit !== undefined && !(Number.isInteger(explicit) && explicit >= 1)) {
    throw new ApiError(`--${what}: burst must be a whole number ≥ 1`, 'PHAROS_CLI_INVALID_FLAG');
  }
  return { perSecond, burst: explicit ?? Math.max(1, Math.ceil(perSecond)) };
}

function amountOf(text: string, what: string): number | undefined {
  if (what === 'bytes') return parseByteSize(text);
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

export interface LimitFlags {
  requests?: string;
  items?: string;
  bytes?: string;
  /** `log=50/s`, repeatable. */
  kind?: string[];
  burst?: string;
}

/** The limits the flags set, merged over `current` (flags not given leave a limit as it is). */
export function applyLimitFlags(current: Limits, flags: LimitFlags): Limits {
  const burst = flags.burst === undefined ? undefined : Number(flags.burst);
  if (burst !== undefined && !(Number.isInteger(burst) && burst >= 1))
    throw new ApiError('--burst must be a whole number ≥ 1', 'PHAROS_CLI_INVALID_FLAG');
  const next: Limits = structuredClone(current);
  if (flags.requests !== undefined) next.requests = parseRate(flags.requests, 'requests', burst);
  if (flags.items !== undefined) next.items = parseRate(flags.items, 'items', burst);
  if (flags.bytes !== undefined) next.bytes = parseRate(flags.bytes, 'bytes', burst);
  for (const entry of flags.kind ?? []) {
    const [kind = '', rate = ''] = entry.split('=');
    next.kinds = { ...next.kinds, [checkKind(kind)]: parseRate(rate, `kind ${kind}`, burst) };
  }
  const given = [flags.requests, flags.items, flags.bytes, ...(flags.kind ?? [])];
  if (given.every((value) => value === undefined))
    throw new ApiError(
      'name a limit to set: --requests, --items, --bytes or --kind <kind>=<rate>',
      'PHAROS_CLI_INVALID_FLAG',
    );
  return next;
}

/** Removes the named limits (`requests`, `items`, `bytes`, kinds); none named: all of them. */
export function clearLimits(
  current: Limits,
  flags: { requests?: boolean; items?: boolean; bytes?: boolean; kind?: string[] },
): Limits {
  if (!flags.requests && !flags.items && !flags.bytes && flags.kind === undefined) return {};
  const next: Limits = structuredClone(current);
  if (flags.requests) delete next.requests;
  if (flags.items) delete next.items;
  if (flags.bytes) delete next.bytes;
  for (const kind of flags.kind ?? []) {
    if (next.kinds) delete next.kinds[checkKind(kind)];
  }
  if (next.kinds && Object.keys(next.kinds).length === 0) delete next.kinds;
  return next;
}

function checkKind(kind: string): Kind {
  if (!(LIMIT_KINDS as readonly string[]).includes(kind)) {
    throw new ApiError(
      `--kind ${JSON.stringify(kind)}: expected one of ${LIMIT_KINDS.join(', ')}`,
      'PHAROS_CLI_INVALID_FLAG',
    );
  }
  return kind as Kind;
}

/** `100/s burst 200`; `-` when there is no limit. */
export function formatRate(rate: RateLimit | undefined, bytes = false): string {
  if (!rate) return '-';
  const amount = Number(rate.perSecond.toFixed(3));
  return `${bytes ? `${amount}B` : amount}/s burst ${rate.burst}`;
}

/** Rows of `pharos limits get`: each limit, own, default, effective. */
export function limitRows(answer: { limits: Limits; defaults: Limits; effective: Limits }) {
  const rows: string[][] = [];
  for (const name of ['requests', 'items', 'bytes'] as const) {
    rows.push([
      name,
      ...[answer.limits, answer.defaults, answer.effective].map((limits) =>
        formatRate(limits[name], name === 'bytes'),
      ),
    ]);
  }
  for (const kind of LIMIT_KINDS) {
    const values = [answer.limits, answer.defaults, answer.effective].map(
      (limits) => limits.kinds?.[kind],
    );
    if (values.some(Boolean))
      rows.push([`kind ${kind}`, ...values.map((rate) => formatRate(rate))]);
  }
  return rows;
}
