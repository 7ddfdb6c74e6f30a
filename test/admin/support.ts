import { startTestPharos, type TestPharos } from '../helpers/pharos.js';
import { createResponseValidator, readOpenApi } from './openapi-support.js';

export interface Answer {
  status: number;
  body: Record<string, unknown> & { code?: string; message?: string };
  text: string;
}

const validator = createResponseValidator(readOpenApi());

/**
 * A started Pharos and a JSON client for its internal listener. Every answer is checked against
 * docs/openapi.json on the way, so each test also checks that the document tells the truth.
 */
export async function startAdminHarness(settings: Record<string, unknown> = {}) {
  let now = Date.parse('2026-11-25T12:00:00Z');
  const pharos: TestPharos = await startTestPharos(
    { demo: { enabled: false }, ...settings },
    { clock: () => now },
  );

  async function call(
    method: string,
    path: string,
    body?: unknown,
    token: string | null = pharos.adminToken,
  ): Promise<Answer> {
    const response = await fetch(`${pharos.internalUrl}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? undefined;
    const parsed = (text ? JSON.parse(text) : {}) as Answer['body'];
    const problems = validator.check(method, path, response.status, contentType, parsed);
    if (problems.length > 0) throw new Error(`answer not as documented: ${problems.join('; ')}`);
    return { status: response.status, body: parsed, text };
  }

  /** Like `call`, but fails the test unless the answer is a success. */
  async function ok<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    token: string | null = pharos.adminToken,
  ): Promise<T> {
    const answer = await call(method, path, body, token);
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
    return answer.body as T;
  }

  async function ingest(key: string, payload: unknown = { events: [{ name: 'e' }] }) {
    const response = await fetch(`${pharos.publicUrl}/collect/${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    await response.arrayBuffer();
    return response.status;
  }

  async function token(name: string, scopes: string[], extra: Record<string, unknown> = {}) {
    return ok<{ id: string; token: string; expiresAt: number | null }>('POST', '/api/v1/tokens', {
      name,
      scopes,
      ...extra,
    });
  }

  return {
    pharos,
    call,
    ok,
    ingest,
    token,
    advance(ms: number) {
      now += ms;
    },
    now: () => now,
  };
}

export type AdminHarness = Awaited<ReturnType<typeof startAdminHarness>>;
