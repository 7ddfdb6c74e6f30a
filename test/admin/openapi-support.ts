import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats ships CommonJS with a default export object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** An operation of docs/openapi.json, with the fields the tests read. */
export interface Operation {
  operationId: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  'x-scopes'?: string[];
  parameters?: { in: string; name: string; required?: boolean; schema?: unknown }[];
  requestBody?: {
    content: Record<string, { schema?: unknown; example?: unknown }>;
  };
  responses: Record<
    string,
    { description: string; content?: Record<string, { schema?: unknown }> }
  >;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

export const OPENAPI_FILE = new URL('../../docs/openapi.json', import.meta.url);

export function readOpenApi(): OpenApiDocument {
  return JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
}

export interface DocumentedOperation {
  method: string;
  /** `/api/v1/apps/{app}` */
  template: string;
  operation: Operation;
}

export function operationsOf(document: OpenApiDocument): DocumentedOperation[] {
  return Object.entries(document.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      template,
      operation,
    })),
  );
}

/** `/api/v1/apps/{app}` → `/api/v1/apps/:app` (Fastify's spelling). */
export function fastifyPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, ':$1');
}

/**
 * Checks answers against the documented response schemas, with Ajv (OpenAPI 3.1 schemas are
 * JSON Schema). Paths are matched to templates as the router does: static segments first.
 */
export function createResponseValidator(document: OpenApiDocument) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  const compiled = new Map<unknown, ValidateFunction>();
  const operations = operationsOf(document)
    .map((entry) => ({
      ...entry,
      pattern: new RegExp(`^${entry.template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      params: (entry.template.match(/\{/g) ?? []).length,
    }))
    .sort((a, b) => a.params - b.params);

  function find(method: string, path: string): DocumentedOperation | undefined {
    const bare = path.split('?')[0] ?? path;
    return operations.find((entry) => entry.method === method && entry.pattern.test(bare));
  }

  /** Problems with an answer (empty when it matches the document). */
  function check(
    method: string,
    path: string,
    status: number,
    contentType: string | undefined,
    body: unknown,
  ): string[] {
    const found = find(method, path);
    if (!found) return [`${method} ${path} is not in the document`];
    const response = found.operation.responses[String(status)];
    if (!response)
      return [
        `${method} ${found.template} does not document status ${status}: ${JSON.stringify(body)}`,
      ];
    const media = (contentType ?? '').split(';')[0]?.trim() ?? '';
    const content = response.content;
    if (!content) return body === undefined || body === '' ? [] : [`${status} documents no body`];
    const entry = content[media];
    if (!entry) return [`${method} ${found.template} ${status} does not document ${media}`];
    if (entry.schema === undefined) return [];
    let validate = compiled.get(entry.schema);
    if (!validate) {
      validate = ajv.compile(entry.schema as object);
      compiled.set(entry.schema, validate);
    }
    return validate(body)
      ? []
      : (validate.errors ?? []).map(
          (error) =>
            `${method} ${found.template} ${status}: ${error.instancePath} ${error.message ?? ''}`,
        );
  }

  return { find, check };
}
