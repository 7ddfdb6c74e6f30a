/** Renders rows as an aligned text table (the CLI's default output; `--json` prints raw JSON). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(headers.map((header) => header.toUpperCase())), ...rows.map(line)].join('\n');
}

export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}

/** One line per stored item, for `pharos tail` and `pharos query`. */
export function itemLine(item: {
  kind: string;
  time: number;
  sessionId: string | null;
  item: Record<string, unknown>;
}): string {
  const body = item.item;
  const text = (value: unknown, fallback = '') =>
    typeof value === 'string' ? value : value === undefined ? fallback : JSON.stringify(value);
  let summary: string;
  switch (item.kind) {
    case 'log':
      summary = `${text(body.level, 'log')}: ${text(body.message)}`;
      break;
    case 'exception':
      summary = `${text(body.type, 'Error')}: ${text(body.value)}`;
      break;
    case 'measurement':
      summary = `${text(body.type)} ${Object.entries(
        (body.values as Record<string, number> | undefined) ?? {},
      )
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')}`;
      break;
    case 'event':
      summary = text(body.name);
      break;
    default:
      summary = text(body.name);
  }
  const session = item.sessionId ? ` session=${item.sessionId}` : '';
  return `${isoTime(item.time)}  ${item.kind.padEnd(11)}  ${summary.replace(/\s+/g, ' ').slice(0, 200)}${session}`;
}
