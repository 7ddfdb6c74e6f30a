/** Label value of something the payload did not say (no environment, no page URL, no type). */
export const UNKNOWN = 'unknown';
/** Label value that replaces a value refused by a cap (too many distinct values, or too long). */
export const OTHER = 'other';

/** Longer client-chosen values become `other`: a label is a name, not a place to store data. */
export const MAX_LABEL_VALUE_LENGTH = 200;

export interface BoundedValue {
  readonly value: string;
  /** True when the value was replaced by `other` (the observation counts as an overflow). */
  readonly replaced: boolean;
}

const ABSENT: BoundedValue = { value: UNKNOWN, replaced: false };
const REPLACED: BoundedValue = { value: OTHER, replaced: true };

/** A client-chosen string as a label value: `unknown` when absent or empty, `other` when too long. */
export function boundedValue(raw: string | undefined): BoundedValue {
  if (raw === undefined || raw === '') return ABSENT;
  if (raw.length > MAX_LABEL_VALUE_LENGTH) return REPLACED;
  return { value: raw, replaced: false };
}

/**
 * The distinct values one label may take per tenant, first come first kept; past `maxPerTenant`,
 * new values are `other`. For labels that are small sets in practice but chosen by the client,
 * such as `environment`, so that a sender cannot multiply the series of every metric with them.
 */
export function createValueCap(maxPerTenant: number) {
  const seenByTenant = new Map<string, Set<string>>();
  return (tenant: string, raw: string | undefined): BoundedValue => {
    const bounded = boundedValue(raw);
    if (bounded === ABSENT || bounded === REPLACED) return bounded;
    let seen = seenByTenant.get(tenant);
    if (!seen) seenByTenant.set(tenant, (seen = new Set()));
    if (seen.has(bounded.value)) return bounded;
    if (seen.size >= maxPerTenant) return REPLACED;
    seen.add(bounded.value);
    return bounded;
  };
}
