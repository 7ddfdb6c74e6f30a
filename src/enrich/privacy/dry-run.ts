import { validatePayload } from '../../decode/index.js';
import type { EffectivePrivacySettings } from './config.js';
import { compilePrivacyPolicy } from './policy.js';
import { scrubPayload, type FieldChange } from './scrub.js';

export interface DryRunReport {
  changes: FieldChange[];
  /** Strings changed per rule, fields dropped as `dropFields`. */
  byRule: Record<string, number>;
  /** The payload as the sinks would receive it. */
  scrubbed: unknown;
}

/**
 * What the rules would change in a payload: validated as ingest validates it (so the report is
 * about a payload Pharos would accept), then scrubbed with a recorder.
 */
export function privacyDryRun(body: unknown, settings: EffectivePrivacySettings): DryRunReport {
  const { payload } = validatePayload(structuredClone(body), Number.MAX_SAFE_INTEGER);
  const changes: FieldChange[] = [];
  const { byRule } = scrubPayload(payload, compilePrivacyPolicy(settings), (change) =>
    changes.push(change),
  );
  return { changes, byRule, scrubbed: payload };
}

/** One line per field: `path: before → after` (`(dropped)` for removed fields), then totals. */
export function formatDryRun(report: DryRunReport): string {
  const show = (value: unknown) => (value === undefined ? '(dropped)' : JSON.stringify(value));
  const lines = report.changes.map(
    (change) => `${change.path}: ${show(change.before)} → ${show(change.after)}`,
  );
  const rules = Object.entries(report.byRule)
    .map(([rule, count]) => `${rule} ${count}`)
    .join(', ');
  lines.push(
    report.changes.length === 0
      ? 'no field would change'
      : `${report.changes.length} field${report.changes.length === 1 ? '' : 's'} would change (${rules})`,
  );
  return lines.join('\n');
}
