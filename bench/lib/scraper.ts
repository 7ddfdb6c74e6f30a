import { median, round } from './stats.js';

/** What scraping `/metrics` cost the server while a run lasted. */
export interface ScrapeStats {
  readonly everySeconds: number;
  readonly count: number;
  /** From the request to the last byte of the answer: the server renders it on its event loop. */
  readonly medianMs: number;
  readonly maxMs: number;
  /** Size of the last answer. */
  readonly bytes: number;
}

/**
 * Scrapes `url` every `everySeconds` until stopped, as Prometheus does in production: a server
 * measured without its scrapes leaves out the memory and the event-loop time that rendering
 * every series takes, which grow with the number of apps (docs/performance.md, finding 30).
 * One scrape at a time; a slow one delays the next, as Prometheus's would.
 */
export function startScraper(url: string, everySeconds: number): { stop(): Promise<ScrapeStats> } {
  const durations: number[] = [];
  let bytes = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const scrape = async (): Promise<void> => {
    const startedAt = performance.now();
    const response = await fetch(url);
    const body = await response.arrayBuffer();
    if (!response.ok) throw new Error(`scraping ${url}: HTTP ${response.status}`);
    durations.push(performance.now() - startedAt);
    bytes = body.byteLength;
  };
  let failure: Error | undefined;
  const schedule = (): void => {
    timer = setTimeout(() => {
      running = scrape().then(
        () => {
          if (!stopped) schedule();
        },
        (error: unknown) => {
          // Reported by stop(): the run's figures would otherwise leave the scrapes out.
          failure = error instanceof Error ? error : new Error(String(error));
        },
      );
    }, everySeconds * 1000);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      if (failure !== undefined) throw failure;
      return {
        everySeconds,
        count: durations.length,
        medianMs: durations.length > 0 ? round(median(durations), 1) : 0,
        maxMs: durations.length > 0 ? round(Math.max(...durations), 1) : 0,
        bytes,
      };
    },
  };
}
