import type { AcceptedBatch, OtlpKeyValue, OtlpResourceSpans } from '../../model/index.js';

/** The resource attribute naming the Pharos tenant: Pharos's own, so Pharos always sets it. */
export const TENANT_ATTRIBUTE = 'pharos.tenant';

/**
 * What Pharos knows about a batch's sender that Alloy never adds to traces: the app from the
 * Faro meta (or the Pharos app id), its environment and the browser session. Only non-empty
 * values; backend batches (no meta, app id '') get none of these and keep their own.
 */
export function resourceDefaults(batch: AcceptedBatch): [key: string, value: string][] {
  const app = batch.payload.meta?.app;
  const candidates: [string, string | undefined][] = [
    ['service.name', app?.name || batch.appId],
    ['service.namespace', app?.namespace],
    ['service.version', app?.version],
    ['deployment.environment.name', app?.environment],
    ['session.id', batch.payload.meta?.session?.id],
  ];
  return candidates.filter((entry): entry is [string, string] => Boolean(entry[1]));
}

/**
 * A copy of `resourceSpans` whose resources carry `defaults` where the sender did not set them
 * (what the SDK set is never overwritten: it knows its app better than the meta does), and
 * `pharos.tenant` set to the tenant Pharos admitted the batch for. That one is replaced, not
 * kept: the tenant comes from the key or token, never from the payload, and a sender must not be
 * able to label its spans as another tenant's.
 *
 * The input is left untouched (other sinks read the same batch); spans are shared, not copied.
 */
export function withResourceAttributes(
  resourceSpans: readonly OtlpResourceSpans[],
  defaults: readonly [string, string][],
  tenantId: string,
): OtlpResourceSpans[] {
  return resourceSpans.map((entry) => {
    const existing = entry.resource?.attributes ?? [];
    const present = new Set(existing.map((attribute) => attribute.key));
    const attributes: OtlpKeyValue[] = existing.filter(
      (attribute) => attribute.key !== TENANT_ATTRIBUTE,
    );
    for (const [key, value] of defaults) {
      if (!present.has(key)) attributes.push(stringAttribute(key, value));
    }
    attributes.push(stringAttribute(TENANT_ATTRIBUTE, tenantId));
    return { ...entry, resource: { ...entry.resource, attributes } };
  });
}

function stringAttribute(key: string, value: string): OtlpKeyValue {
  return { key, value: { stringValue: value } };
}
