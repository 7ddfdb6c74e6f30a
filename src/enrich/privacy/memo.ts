/**
 * Remembers what a policy's rules made of a string, so a string seen again costs one map lookup.
 *
 * Most strings of a Faro payload repeat across requests: the whole `meta` (user agent, page URL,
 * SDK and app fields) is the same for every request of a session, and event names, log messages
 * and frame file names repeat across sessions. Running the rules is a trigger regex plus the rules
 * it fires on (a user agent's version digits fire the card and IP rules on every request), so a
 * lookup is several times cheaper. The rules are pure functions of (text, field kind, keepEmail),
 * which is what the memo is keyed on; it is per compiled policy, so a tenant's memo never answers
 * for another's rules.
 */

/** What scrubbing one string did: the text after the rules, and the rules that changed it. */
export interface ScrubOutcome {
  readonly text: string;
  /** Indices of the rules that changed it, in the order they ran; empty when unchanged. */
  readonly rules: readonly number[];
}

/**
 * Strings longer than this are not remembered: long ones (stack traces, long messages) rarely
 * repeat, and each would hold its text twice.
 */
const MAX_TEXT_LENGTH = 256;
/**
 * Entries per (kind, keepEmail) slot before the slot is emptied and starts again. Clearing is
 * cheaper per request than an LRU's bookkeeping, and a working set that fits refills at once.
 * Bounded memory: at most slots × MAX_ENTRIES × (2 × MAX_TEXT_LENGTH) characters.
 */
const MAX_ENTRIES = 2048;

export class ScrubMemo {
  /** One map per (field kind, keepEmail): the same text may be scrubbed differently in each. */
  private readonly slots: Map<string, ScrubOutcome>[] = [];

  constructor(private readonly kindIndex: ReadonlyMap<string, number>) {}

  /** The slot for a kind, or undefined for a text that is not remembered. */
  slot(text: string, kind: string, keepEmail: boolean): Map<string, ScrubOutcome> | undefined {
    if (text.length > MAX_TEXT_LENGTH) return undefined;
    const index = ((this.kindIndex.get(kind) ?? 0) << 1) | (keepEmail ? 1 : 0);
    let slot = this.slots[index];
    if (slot === undefined) {
      slot = new Map();
      this.slots[index] = slot;
    }
    return slot;
  }

  remember(slot: Map<string, ScrubOutcome>, text: string, outcome: ScrubOutcome): void {
    if (slot.size >= MAX_ENTRIES) slot.clear();
    slot.set(text, outcome);
  }
}
