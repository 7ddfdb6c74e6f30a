import type { OpenApiDocument } from './generate.js';

interface DocumentedOperation {
  summary?: string;
  'x-scopes'?: readonly string[];
  security?: readonly unknown[];
}

/** Where docs/api.md holds the generated route table. */
export const ROUTE_TABLE_START =
  '<!-- routes:start (generated from docs/openapi.json by `npm run docs`) -->';
export const ROUTE_TABLE_END = '<!-- routes:end -->';

/**
 * The route table of docs/api.md: method, path, who may call it, what it does; one row per
 * operation of the document, in its order.
 */
export function renderRouteTable(document: OpenApiDocument): string {
  const rows: string[] = [];
  for (const [path, methods] of Object.entries(document.paths ?? {})) {
    for (const [method, value] of Object.entries(methods ?? {})) {
      const operation = value as DocumentedOperation;
      const scopes = operation['x-scopes'] ?? [];
      const who =
        scopes.length === 0 ? 'no token' : scopes.map((scope) => `\`${scope}\``).join(', ');
      rows.push(
        `| \`${method.toUpperCase()}\` | \`${path}\` | ${who} | ${(operation.summary ?? '').replaceAll('|', '\\|')} |`,
      );
    }
  }
  return ['| method | path | scopes | what it does |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}

/** docs/api.md with its route table replaced by `table`. */
export function withRouteTable(markdown: string, table: string): string {
  const start = markdown.indexOf(ROUTE_TABLE_START);
  const end = markdown.indexOf(ROUTE_TABLE_END);
  if (start === -1 || end < start) throw new Error('docs/api.md lacks the route table markers');
  return `${markdown.slice(0, start + ROUTE_TABLE_START.length)}\n\n${table}\n\n${markdown.slice(end)}`;
}

/** Formats Markdown the way the repository's Prettier does (development dependency). */
export async function formatMarkdown(markdown: string): Promise<string> {
  const prettier = await import('prettier');
  return prettier.format(markdown, {
    parser: 'markdown',
    printWidth: 100,
    singleQuote: true,
    trailingComma: 'all',
  });
}
