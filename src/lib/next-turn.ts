/**
 * Resolves after the event loop has had a turn: I/O callbacks (answers to waiting requests) run
 * before it does. Long work on the loop (encoding a push) awaits this between slices, so that no
 * request waits for the whole of it (docs/performance.md, findings on the p99).
 */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
