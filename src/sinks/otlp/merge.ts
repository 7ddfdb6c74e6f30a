import type { OtlpResourceSpans } from '../../model/index.js';

type ScopeSpans = NonNullable<OtlpResourceSpans['scopeSpans']>[number];

/**
 * The resourceSpans of several units as one ExportTraceServiceRequest body, oldest first.
 * Entries whose resource is identical (the batches of one browser session, or of one backend
 * instance) become one, and within it identical scopes share one span list: the backend gets
 * each resource and scope once per push instead of once per Faro batch. Nothing is mutated.
 */
export function mergeResourceSpans(
  values: readonly { resourceSpans: readonly OtlpResourceSpans[] }[],
): OtlpResourceSpans[] {
  const byResource = new Map<
    string,
    { entry: OtlpResourceSpans; scopes: Map<string, ScopeSpans> }
  >();
  for (const value of values) {
    for (const entry of value.resourceSpans) {
      const resourceKey = JSON.stringify([entry.resource ?? null, entry.schemaUrl ?? '']);
      let merged = byResource.get(resourceKey);
      if (!merged) {
        merged = { entry: { ...entry, scopeSpans: [] }, scopes: new Map() };
        byResource.set(resourceKey, merged);
      }
      for (const scopeSpans of entry.scopeSpans ?? []) {
        const scopeKey = JSON.stringify([scopeSpans.scope ?? null, scopeSpans.schemaUrl ?? '']);
        let target = merged.scopes.get(scopeKey);
        if (!target) {
          target = { ...scopeSpans, spans: [] };
          merged.scopes.set(scopeKey, target);
          merged.entry.scopeSpans?.push(target);
        }
        // Our own array (copied above), so appending does not touch the unit's.
        for (const span of scopeSpans.spans ?? []) target.spans?.push(span);
      }
    }
  }
  return [...byResource.values()].map((merged) => merged.entry);
}
