import type { Command } from 'commander';
import { createApiClient, type ClientOptions } from '../client.js';
import { itemLine } from '../format.js';
import { withClientOptions } from './registry.js';

interface StoredItem {
  id: number;
  kind: string;
  time: number;
  sessionId: string | null;
  item: Record<string, unknown>;
}

const KINDS = ['logs', 'exceptions', 'measurements', 'events', 'spans'];

export function registerTelemetryCommands(program: Command): void {
  withClientOptions(program.command('tail').description("follow an app's new items as they arrive"))
    .requiredOption('--app <id>', 'app to follow')
    .option(
      '--kinds <kinds>',
      'comma-separated kinds: log,exception,measurement,event,span (default all)',
    )
    .action(async (options: ClientOptions & { json?: boolean; app: string; kinds?: string }) => {
      const client = createApiClient(options);
      const query = options.kinds ? `?kinds=${encodeURIComponent(options.kinds)}` : '';
      const response = await client.stream(
        `/api/v1/apps/${encodeURIComponent(options.app)}/tail${query}`,
      );
      if (!options.json) console.error(`following app ${options.app} (Ctrl-C to stop)`);
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (data === '') continue;
          const item = JSON.parse(data) as StoredItem;
          console.log(options.json ? JSON.stringify(item) : itemLine(item));
        }
      }
    });

  withClientOptions(
    program
      .command('query <kind>')
      .description(`read stored items; kind is one of ${KINDS.join(', ')}`),
  )
    .requiredOption('--app <id>', 'app to read')
    .option('--since <duration>', 'only items newer than this, e.g. 15m, 24h')
    .option('--from <time>', 'RFC 3339 time or epoch ms (inclusive)')
    .option('--to <time>', 'RFC 3339 time or epoch ms (exclusive)')
    .option('--session <id>', 'only this session')
    .option('--trace <id>', 'only this trace')
    .option('--name <name>', 'level, type or name to match')
    .option('-q, --text <text>', 'only items containing this text')
    .option('--limit <n>', 'most items to print', '50')
    .option('--order <order>', 'desc (newest first) or asc', 'desc')
    .action(
      async (
        kind: string,
        options: ClientOptions & {
          json?: boolean;
          app: string;
          since?: string;
          from?: string;
          to?: string;
          session?: string;
          trace?: string;
          name?: string;
          text?: string;
          limit: string;
          order: string;
        },
      ) => {
        const segment = KINDS.find((candidate) => candidate === kind || candidate === `${kind}s`);
        if (!segment) throw new Error(`unknown kind ${kind}; use one of ${KINDS.join(', ')}`);
        const params = new URLSearchParams();
        const set = (name: string, value: string | undefined) =>
          value !== undefined && params.set(name, value);
        set('since', options.since);
        set('from', options.from);
        set('to', options.to);
        set('session', options.session);
        set('trace', options.trace);
        set('name', options.name);
        set('q', options.text);
        set('limit', options.limit);
        set('order', options.order);
        const { items } = await createApiClient(options).get<{ items: StoredItem[] }>(
          `/api/v1/apps/${encodeURIComponent(options.app)}/${segment}?${params.toString()}`,
        );
        if (options.json) console.log(JSON.stringify(items, null, 2));
        else if (items.length === 0) console.error('no items');
        else for (const item of items) console.log(itemLine(item));
      },
    );
}
