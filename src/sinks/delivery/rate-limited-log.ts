/**
 * Lets one line through per interval and counts the ones it held back, so a storm of identical
 * failures (every push rejected for an hour) costs one log line per interval, not one per push.
 */
export function createLogLimiter(intervalMs: number, clock: () => number) {
  let lastAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return {
    /** Whether to log now; when yes, how many lines were held back since the last one. */
    take(): { log: true; suppressed: number } | { log: false } {
      const now = clock();
      if (now - lastAt < intervalMs) {
        suppressed++;
        return { log: false };
      }
      lastAt = now;
      const held = suppressed;
      suppressed = 0;
      return { log: true, suppressed: held };
    },
  };
}
