/**
 * One redaction rule over text. Rules run on every string of every payload, so each has a cheap
 * necessary condition (`mayMatch`, usually one `indexOf`) that lets the common string — `info`,
 * `GET`, `Chrome` — pass without running the real matcher.
 */
export interface TextRule {
  /** The rule's name in config, metrics and the dry-run report. */
  readonly name: string;
  /**
   * A regex source that every text the rule can change matches (a necessary condition). The
   * policy joins the triggers of its rules into one regex, so the common string costs one scan.
   */
  readonly trigger: string;
  /** False means `apply` would return the text unchanged. */
  mayMatch(text: string): boolean;
  /** The text with every match replaced; the same string when nothing matched. */
  apply(text: string): string;
}
