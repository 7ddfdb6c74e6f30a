import { ERRORS } from './codes.js';

/** Renders docs/errors.md from the registry (`npm run docs`); a test keeps the file current. */
export function renderErrorReference(): string {
  const http = Object.values(ERRORS).filter((definition) => definition.statusCode > 0);
  const startup = Object.values(ERRORS).filter((definition) => definition.statusCode === 0);
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/errors/codes.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    'Every error Pharos answers is JSON with the same four fields, and its `code` is one of the codes below.',
    'Codes are stable: match on `code`, not on `message` (which says what exactly was wrong, e.g. the JSON path of a bad field).',
    '',
    '```json',
    '{"statusCode":400,"code":"PHAROS_ERR_PAYLOAD_INVALID","error":"Bad Request","message":"measurements[0].values.lcp: expected number, got string"}',
    '```',
    '',
    '`429` and `503` answers always carry `Retry-After` (seconds); the Faro SDK 2.12+ retries those batches after it,',
    'with the same `Idempotency-Key`. The SDK drops a batch answered with any other 4xx, so a 4xx means "fix the sender".',
    'Ingest errors are counted in `pharos_http_requests_total{listener="public",code="…"}`.',
    '',
    '## HTTP errors',
    '',
    '| code | status | meaning |',
    '|---|---|---|',
    ...http.map(
      (definition) =>
        `| \`${definition.code}\` | ${definition.statusCode} | ${definition.summary} |`,
    ),
    '',
    '## Start-up errors',
    '',
    '`pharos start` and `pharos config check` print these and exit with status 2 (configuration) or 1.',
    '',
    '| code | meaning |',
    '|---|---|',
    ...startup.map((definition) => `| \`${definition.code}\` | ${definition.summary} |`),
    '',
  ].join('\n');
}
