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
  const merger = new ResourceSpansMerger();
  for (const value of values) merger.add(value.resourceSpans);
  return merger.result();
}

/**
 * `mergeResourceSpans` a unit at a time, so that a push can merge a few units per turn of the
 * event loop: keying a resource and its scopes costs ~10 µs a unit (JSON of their attributes).
 */
export class ResourceSpansMerger {
  private readonly byResource = new Map<
    string,
    { entry: OtlpResourceSpans; scopes: Map<string, ScopeSpans> }
  >();

  add(resourceSpans: readonly OtlpResourceSpans[]): void {
    for (const entry of resourceSpans) {
      const resourceKey = JSON.stringify([entry.resource ?? null, entry.schemaUrl ?? '']);
      let merged = this.byResource.get(resourceKey);
      if (!merged) {
        merged = { entry: { ...entry, scopeSpans: [] }, scopes: new Map() };
        this.byResource.set(resourceKey, merged);
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

  result(): OtlpResourceSpans[] {
    return [...this.byResource.values()].map((merged) => merged.entry);
  }
}
