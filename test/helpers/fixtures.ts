import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Real Faro SDK 2.12 captures, copied verbatim from the shared fixtures (never edit them). */
export const FIXTURES_DIR = new URL('../fixtures/faro-sdk-2.12/', import.meta.url);

export interface CapturedRequest {
  file: string;
  method: string;
  path: string;
  headers: [string, string][];
  rawBodyBase64?: string;
  wireEncoding: string | null;
  response: { status: number };
}

interface FixtureIndex {
  requests: CapturedRequest[];
  preflights: { path: string; headers: [string, string][] }[];
}

export const fixtureIndex = JSON.parse(
  readFileSync(new URL('index.json', FIXTURES_DIR), 'utf8'),
) as FixtureIndex;

/** Every request the SDK sent to the Faro `/collect` endpoint. */
export const collectRequests = fixtureIndex.requests.filter((request) =>
  request.path.startsWith('/collect'),
);

/** The body as it went over the wire (gzip ones from index.json), and as decoded JSON. */
export function fixtureBody(request: CapturedRequest): { wire: Buffer; json: FaroBody } {
  const decoded = readFileSync(new URL(request.file, FIXTURES_DIR));
  const wire = request.rawBodyBase64 ? Buffer.from(request.rawBodyBase64, 'base64') : decoded;
  return { wire, json: JSON.parse(decoded.toString('utf8')) as FaroBody };
}

export function readFixtureJson(file: string): FaroBody {
  return JSON.parse(readFileSync(new URL(file, FIXTURES_DIR), 'utf8')) as FaroBody;
}

/** Headers to replay: all captured ones except those the HTTP client must compute itself. */
export function replayHeaders(
  request: CapturedRequest,
  options: { newIdempotencyKey?: boolean } = {},
): Record<string, string> {
  const skip = new Set(['host', 'connection', 'content-length']);
  const headers = Object.fromEntries(
    request.headers
      .filter(([name]) => !skip.has(name.toLowerCase()))
      .map(([name, value]) => [name.toLowerCase(), value]),
  );
  // The captured key repeats on the SDK's retries, and Pharos ingests a batch once per key.
  // Replays that send the captures as new traffic (again and again) need keys of their own.
  if (options.newIdempotencyKey && headers['idempotency-key'] !== undefined) {
    headers['idempotency-key'] = randomUUID().replaceAll('-', '').slice(0, 20);
  }
  return headers;
}

export interface FaroBody {
  meta?: Record<string, unknown>;
  logs?: Record<string, unknown>[];
  exceptions?: Record<string, unknown>[];
  measurements?: Record<string, unknown>[];
  events?: Record<string, unknown>[];
  traces?: {
    resourceSpans?: {
      resource?: Record<string, unknown>;
      scopeSpans?: { scope?: Record<string, unknown>; spans?: Record<string, unknown>[] }[];
    }[];
  };
}
