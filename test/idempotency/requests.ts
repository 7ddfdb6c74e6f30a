import { request } from 'undici';

/** A valid Faro payload with `events` events, in a session when `sessionId` is given. */
export function faroPayload(options: { sessionId?: string; events?: number } = {}) {
  const events = Array.from({ length: options.events ?? 1 }, (_, index) => ({
    name: `test_event_${index}`,
    domain: 'test',
    timestamp: new Date().toISOString(),
    attributes: { index: String(index) },
  }));
  return {
    meta: {
      sdk: { name: 'faro-web', version: '2.12.1' },
      app: { name: 'traffic-test', environment: 'test' },
      ...(options.sessionId === undefined ? {} : { session: { id: options.sessionId } }),
    },
    events,
  };
}

export interface PostOptions {
  /** `x-faro-session-id` */
  sessionHeader?: string;
  idempotencyKey?: string;
  origin?: string;
  /** Raw body; default the JSON of `payload`. */
  body?: string;
  payload?: unknown;
  contentType?: string;
}

export interface PostAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** POST /collect/<key> as the Faro SDK would. */
export async function postCollect(
  baseUrl: string,
  key: string,
  options: PostOptions = {},
): Promise<PostAnswer> {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/json',
  };
  if (options.sessionHeader !== undefined) headers['x-faro-session-id'] = options.sessionHeader;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  if (options.origin !== undefined) headers.origin = options.origin;
  const response = await request(`${baseUrl}/collect/${key}`, {
    method: 'POST',
    headers,
    body: options.body ?? JSON.stringify(options.payload ?? faroPayload()),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: await response.body.text(),
  };
}

/** A 20-character key from the SDK's alphabet, unique per call. */
export function sdkIdempotencyKey(): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
  let key = '';
  for (let index = 0; index < 20; index++)
    key += alphabet[Math.floor(Math.random() * alphabet.length)];
  return key;
}
