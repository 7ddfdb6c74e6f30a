import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClientOptions {
  url?: string;
  token?: string;
  dataDir?: string;
}

/** An error answer of the API, or a failure to reach it; the CLI prints it and exits 1. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * The CLI's way to a running Pharos: the internal listener's REST API. Defaults suit the machine
 * Pharos runs on: http://127.0.0.1:12348 and the token in <data dir>/admin-token.
 */
export function createApiClient(options: ClientOptions) {
  const baseUrl = (options.url ?? process.env.PHAROS_URL ?? 'http://127.0.0.1:12348').replace(
    /\/+$/,
    '',
  );
  const token =
    options.token ??
    process.env.PHAROS_TOKEN ??
    readTokenFile(options.dataDir ?? process.env.PHAROS_DATA_DIR ?? './pharos-data');

  async function request(method: string, path: string, body?: unknown): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(
        `cannot reach Pharos at ${baseUrl} (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}); is \`pharos start\` running? Set --url or PHAROS_URL otherwise.`,
        'PHAROS_CLI_UNREACHABLE',
      );
    }
    if (!response.ok) {
      const text = await response.text();
      let parsed: { code?: string; message?: string } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        // Not one of our JSON errors (a proxy in between?): show the text.
      }
      throw new ApiError(
        parsed.message ?? (text || response.statusText),
        parsed.code ?? `HTTP_${response.status}`,
      );
    }
    return response;
  }

  return {
    baseUrl,
    async get<T>(path: string): Promise<T> {
      return (await (await request('GET', path)).json()) as T;
    },
    async post<T>(path: string, body: unknown = {}): Promise<T> {
      return (await (await request('POST', path, body)).json()) as T;
    },
    async patch<T>(path: string, body: unknown): Promise<T> {
      return (await (await request('PATCH', path, body)).json()) as T;
    },
    async put<T>(path: string, body: unknown): Promise<T> {
      return (await (await request('PUT', path, body)).json()) as T;
    },
    async delete<T>(path: string): Promise<T> {
      return (await (await request('DELETE', path)).json()) as T;
    },
    /** Opens a streaming GET (server-sent events). */
    stream(path: string): Promise<Response> {
      return request('GET', path);
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

function readTokenFile(dataDir: string): string | undefined {
  const file = join(dataDir, 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
