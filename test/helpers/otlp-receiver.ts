import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * A strict OTLP/HTTP traces receiver for tests: what Tempo or an OpenTelemetry collector would
 * accept, checked against the OpenTelemetry project's own definitions rather than Pharos's.
 *
 * - Protobuf bodies are decoded by the protobufjs code that @opentelemetry/otlp-transformer
 *   0.52.1 generated from opentelemetry-proto (the `otlp-proto-reference` devDependency).
 * - JSON bodies are held to the OTLP/JSON mapping first (lowerCamelCase keys only, no unknown
 *   keys, hex ids of the right length, enums as integers, 64-bit integers as decimal strings or
 *   safe integers, 32-bit ones as numbers, bytes as base64, one AnyValue member), then converted
 *   with the generated `fromObject` and checked with `verify`.
 * - Those generated types predate `Span.flags` (field 16) and `Link.flags` (6); the receiver reads
 *   them itself (from the JSON, or from the raw protobuf) so they can be compared too.
 *
 * A body that breaks a rule is answered 400 and listed in `errors`, which tests expect empty.
 */

// ---- the reference definitions -------------------------------------------------------------

interface GeneratedType {
  decode(bytes: Uint8Array): object;
  encode(message: object): { finish(): Uint8Array };
  fromObject(object: object): object;
  verify(message: object): string | null;
  toObject(message: object, options: Record<string, unknown>): Record<string, unknown>;
}
interface ProtobufReader {
  pos: number;
  len: number;
  uint32(): number;
  fixed32(): number;
  bytes(): Uint8Array;
  skipType(wireType: number): void;
}

const requireCjs = createRequire(import.meta.url);
const ROOT_PATH = 'otlp-proto-reference/build/src/generated/root.js';
const reference = requireCjs(ROOT_PATH) as {
  opentelemetry: {
    proto: {
      collector: {
        trace: {
          v1: {
            ExportTraceServiceRequest: GeneratedType;
            ExportTraceServiceResponse: GeneratedType;
          };
        };
      };
    };
  };
};
/** The protobufjs runtime the generated code itself uses (its own 7.x copy). */
const referenceRuntime = createRequire(requireCjs.resolve(ROOT_PATH))('protobufjs/minimal') as {
  Reader: { create(bytes: Uint8Array): ProtobufReader };
};

export const ReferenceExportTraceServiceRequest =
  reference.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const ReferenceExportTraceServiceResponse =
  reference.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

// ---- what tests read -----------------------------------------------------------------------

/** An AnyValue as OTLP/JSON writes it: one member; int64 as a decimal string, bytes as base64. */
export type AnyValueView = Record<string, unknown>;
export interface KeyValueView {
  key: string;
  value?: AnyValueView | null;
}
export interface SpanView {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValueView[];
  droppedAttributesCount: number;
  events: {
    timeUnixNano: string;
    name: string;
    attributes: KeyValueView[];
    droppedAttributesCount: number;
  }[];
  droppedEventsCount: number;
  links: Record<string, unknown>[];
  droppedLinksCount: number;
  status: { code: number; message: string } | null;
}
export interface ResourceSpansView {
  resource: { attributes: KeyValueView[]; droppedAttributesCount: number } | null;
  scopeSpans: {
    scope: { name: string; version: string; attributes: KeyValueView[] } | null;
    spans: SpanView[];
    schemaUrl: string;
  }[];
  schemaUrl: string;
}
export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  encoding: 'json' | 'protobuf';
  gzip: boolean;
  /** Body bytes as they came over the wire. */
  wireBytes: number;
  resourceSpans: ResourceSpansView[];
}
/** A span with where it came from: its resource's attributes (as a map) and its request. */
export interface ReceivedSpan extends SpanView {
  resourceAttributes: Record<string, AnyValueView | null | undefined>;
  /** How many times each resource attribute key occurs (duplicates are a bug). */
  resourceKeyCounts: Record<string, number>;
  scopeName: string;
  request: ReceivedRequest;
}

/** One scripted answer; once used, the receiver goes back to accepting. */
export type ScriptedAnswer =
  | {
      status: number;
      headers?: Record<string, string>;
      body?: string | Buffer;
      partialSuccess?: { rejectedSpans: number; errorMessage: string };
    }
  /** Destroy the connection without an answer (a network error at the client). */
  | { fault: 'reset' }
  /** Never answer (the client's deadline must fire). */
  | { fault: 'hang' };

export interface OtlpReceiver {
  readonly url: string;
  /** Requests answered 2xx, in arrival order: the data a backend would have kept. */
  readonly accepted: ReceivedRequest[];
  /** Every request that reached the handler, whatever the answer. */
  readonly attempts: { headers: IncomingHttpHeaders; answeredWith: number | 'reset' | 'hang' }[];
  /** Bodies or requests that broke the protocol, with the reason. */
  readonly errors: string[];
  spans(): ReceivedSpan[];
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Queues answers for the next requests, in order. */
  respondWith(...answers: ScriptedAnswer[]): void;
  /** Stops listening (connections refused) until `up()`, on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const accepted: ReceivedRequest[] = [];
  const attempts: OtlpReceiver['attempts'] = [];
  const errors: string[] = [];
  const script: ScriptedAnswer[] = [];
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  let waiters: (() => void)[] = [];

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      errors.push(`receiver failure: ${String(error)}`);
      res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readAll(req);
    const refuse = (status: number, reason: string) => {
      errors.push(reason);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(reason);
    };
    if (req.method !== 'POST') return refuse(405, `method ${req.method ?? ''} is not POST`);
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path !== '/v1/traces') return refuse(404, `path ${path} is not /v1/traces`);
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    const encoding =
      mediaType === 'application/x-protobuf'
        ? 'protobuf'
        : mediaType === 'application/json'
          ? 'json'
          : undefined;
    if (!encoding) return refuse(415, `Content-Type ${String(req.headers['content-type'])}`);
    const contentEncoding = req.headers['content-encoding'];
    if (contentEncoding !== undefined && contentEncoding !== 'gzip')
      return refuse(415, `Content-Encoding ${contentEncoding}`);

    const scripted = script.shift();
    if (scripted && 'fault' in scripted) {
      attempts.push({ headers: req.headers, answeredWith: scripted.fault });
      if (scripted.fault === 'reset') req.socket.destroy();
      else hung.add(res);
      return;
    }

    let decoded: ResourceSpansView[];
    try {
      const raw = contentEncoding === 'gzip' ? gunzipSync(body) : body;
      decoded = encoding === 'protobuf' ? decodeProtobuf(raw) : decodeJson(raw);
    } catch (error) {
      attempts.push({ headers: req.headers, answeredWith: 400 });
      return refuse(400, `invalid ${encoding} body: ${(error as Error).message}`);
    }

    const status = scripted?.status ?? 200;
    attempts.push({ headers: req.headers, answeredWith: status });
    if (status >= 200 && status < 300) {
      accepted.push({
        path,
        headers: req.headers,
        encoding,
        gzip: contentEncoding === 'gzip',
        wireBytes: body.length,
        resourceSpans: decoded,
      });
      const ready = waiters;
      waiters = [];
      for (const wake of ready) wake();
    }
    const headers = { ...(scripted?.headers ?? {}) };
    if (scripted?.body !== undefined) {
      res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(scripted.body);
      return;
    }
    const answer = encodeResponse(encoding, status < 300 ? scripted?.partialSuccess : undefined);
    res
      .writeHead(status, {
        'content-type': `application/${encoding === 'json' ? 'json' : 'x-protobuf'}`,
        ...headers,
      })
      .end(answer);
  }

  const spans = (): ReceivedSpan[] =>
    accepted.flatMap((request) =>
      request.resourceSpans.flatMap((entry) => {
        const resourceAttributes: ReceivedSpan['resourceAttributes'] = {};
        const resourceKeyCounts: Record<string, number> = {};
        for (const attribute of entry.resource?.attributes ?? []) {
          resourceAttributes[attribute.key] = attribute.value;
          resourceKeyCounts[attribute.key] = (resourceKeyCounts[attribute.key] ?? 0) + 1;
        }
        return entry.scopeSpans.flatMap((scope) =>
          scope.spans.map((span) => ({
            ...span,
            resourceAttributes,
            resourceKeyCounts,
            scopeName: scope.scope?.name ?? '',
            request,
          })),
        );
      }),
    );

  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const closeConnections = () => {
    for (const res of hung) res.destroy();
    hung.clear();
    for (const socket of sockets) socket.destroy();
  };

  return {
    url,
    accepted,
    attempts,
    errors,
    spans,
    async waitForSpans(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (spans().length < count) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`waited ${timeoutMs} ms for ${count} spans, got ${spans().length}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return spans();
    },
    respondWith(...answers) {
      script.push(...answers);
    },
    async down() {
      const closed = new Promise((resolve) => server.close(resolve));
      closeConnections();
      await closed;
    },
    async up() {
      await listen(server, port);
    },
    reset() {
      accepted.length = 0;
      attempts.length = 0;
      errors.length = 0;
      script.length = 0;
    },
    async close() {
      if (!server.listening) return;
      const closed = new Promise((resolve) => server.close(resolve));
      closeConnections();
      await closed;
    },
  };
}

async function listen(server: Server, port: number): Promise<void> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function encodeResponse(
  encoding: 'json' | 'protobuf',
  partialSuccess: { rejectedSpans: number; errorMessage: string } | undefined,
): Buffer {
  const object = partialSuccess ? { partialSuccess } : {};
  if (encoding === 'json') {
    return Buffer.from(
      JSON.stringify(
        partialSuccess
          ? {
              partialSuccess: {
                ...partialSuccess,
                rejectedSpans: String(partialSuccess.rejectedSpans),
              },
            }
          : {},
      ),
    );
  }
  const message = ReferenceExportTraceServiceResponse.fromObject(object);
  return Buffer.from(ReferenceExportTraceServiceResponse.encode(message).finish());
}

// ---- decoding with the reference types -------------------------------------------------------

const TO_OBJECT = { longs: String, enums: Number, bytes: String, defaults: true, arrays: true };

function decodeProtobuf(body: Buffer): ResourceSpansView[] {
  const message = ReferenceExportTraceServiceRequest.decode(body);
  return toView(message, rawSpanFlags(body));
}

function decodeJson(body: Buffer): ResourceSpansView[] {
  const json: unknown = JSON.parse(body.toString('utf8'));
  const flags: number[] = [];
  const object = strictMessage(json, 'ExportTraceServiceRequest', '', flags);
  const message = ReferenceExportTraceServiceRequest.fromObject(object);
  const problem = ReferenceExportTraceServiceRequest.verify(message);
  if (problem) throw new Error(`verify: ${problem}`);
  // Through the wire once more, so both encodings are read by the same generated decoder.
  const bytes = ReferenceExportTraceServiceRequest.encode(message).finish();
  return toView(ReferenceExportTraceServiceRequest.decode(bytes), flags);
}

function toView(message: object, spanFlags: number[]): ResourceSpansView[] {
  const object = ReferenceExportTraceServiceRequest.toObject(message, TO_OBJECT) as {
    resourceSpans: ResourceSpansView[];
  };
  let index = 0;
  for (const entry of object.resourceSpans) {
    for (const scope of entry.scopeSpans) {
      for (const span of scope.spans) {
        span.traceId = base64ToHex(span.traceId);
        span.spanId = base64ToHex(span.spanId);
        span.parentSpanId = base64ToHex(span.parentSpanId);
        span.flags = spanFlags[index++] ?? 0;
        for (const link of span.links) {
          link.traceId = base64ToHex(link.traceId as string);
          link.spanId = base64ToHex(link.spanId as string);
        }
      }
    }
  }
  return object.resourceSpans;
}

const base64ToHex = (text: string): string => Buffer.from(text, 'base64').toString('hex');

/**
 * `Span.flags` (field 16, fixed32) of every span, in order, read from the raw protobuf because the
 * reference types do not know the field: request.1 → ResourceSpans.2 → ScopeSpans.2 → Span.16.
 */
function rawSpanFlags(body: Uint8Array): number[] {
  const flags: number[] = [];
  const fields = (
    bytes: Uint8Array,
    visit: (field: number, wireType: number, reader: ProtobufReader) => boolean,
  ) => {
    const reader = referenceRuntime.Reader.create(bytes);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (!visit(tag >>> 3, tag & 7, reader)) reader.skipType(tag & 7);
    }
  };
  const nested =
    (field: number, next: (bytes: Uint8Array) => void) =>
    (f: number, w: number, r: ProtobufReader) => {
      if (f !== field || w !== 2) return false;
      next(r.bytes());
      return true;
    };
  fields(
    body,
    nested(1, (resourceSpans) =>
      fields(
        resourceSpans,
        nested(2, (scopeSpans) =>
          fields(
            scopeSpans,
            nested(2, (span) => {
              let value = 0;
              fields(span, (f, w, r) => {
                if (f !== 16 || w !== 5) return false;
                value = r.fixed32();
                return true;
              });
              flags.push(value);
            }),
          ),
        ),
      ),
    ),
  );
  return flags;
}

// ---- the OTLP/JSON mapping, strictly ----------------------------------------------------------

type Rule =
  | 'string'
  | 'bool'
  | 'double'
  | 'int64'
  | 'fixed64'
  | 'uint32'
  | 'enum'
  | 'traceId'
  | 'spanId'
  | 'parentSpanId'
  | 'base64'
  | { message: string; repeated?: boolean };

const message = (name: string) => ({ message: name });
const repeated = (name: string) => ({ message: name, repeated: true });
const attributes = repeated('KeyValue');

/** Every OTLP/JSON field of a traces request, by message, with its JSON rule (from the .proto). */
const SCHEMA: Record<string, Record<string, Rule>> = {
  ExportTraceServiceRequest: { resourceSpans: repeated('ResourceSpans') },
  ResourceSpans: {
    resource: message('Resource'),
    scopeSpans: repeated('ScopeSpans'),
    schemaUrl: 'string',
  },
  Resource: { attributes, droppedAttributesCount: 'uint32' },
  ScopeSpans: {
    scope: message('InstrumentationScope'),
    spans: repeated('Span'),
    schemaUrl: 'string',
  },
  InstrumentationScope: {
    name: 'string',
    version: 'string',
    attributes,
    droppedAttributesCount: 'uint32',
  },
  Span: {
    traceId: 'traceId',
    spanId: 'spanId',
    traceState: 'string',
    parentSpanId: 'parentSpanId',
    flags: 'uint32',
    name: 'string',
    kind: 'enum',
    startTimeUnixNano: 'fixed64',
    endTimeUnixNano: 'fixed64',
    attributes,
    droppedAttributesCount: 'uint32',
    events: repeated('Event'),
    droppedEventsCount: 'uint32',
    links: repeated('Link'),
    droppedLinksCount: 'uint32',
    status: message('Status'),
  },
  Event: { timeUnixNano: 'fixed64', name: 'string', attributes, droppedAttributesCount: 'uint32' },
  Link: {
    traceId: 'traceId',
    spanId: 'spanId',
    traceState: 'string',
    attributes,
    droppedAttributesCount: 'uint32',
    flags: 'uint32',
  },
  Status: { message: 'string', code: 'enum' },
  KeyValue: { key: 'string', value: message('AnyValue') },
  AnyValue: {
    stringValue: 'string',
    boolValue: 'bool',
    intValue: 'int64',
    doubleValue: 'double',
    arrayValue: message('ArrayValue'),
    kvlistValue: message('KeyValueList'),
    bytesValue: 'base64',
  },
  ArrayValue: { values: repeated('AnyValue') },
  KeyValueList: { values: repeated('KeyValue') },
};

const ENUM_RANGES: Record<string, number> = { 'Span.kind': 5, 'Status.code': 2 };

/** Checks `json` as message `type` and returns the object `fromObject` takes (ids as bytes). */
function strictMessage(
  json: unknown,
  type: string,
  path: string,
  spanFlags: number[],
): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${path || '(root)'}: ${type} must be a JSON object`);
  const fieldsOf = SCHEMA[type] as Record<string, Rule>;
  const out: Record<string, unknown> = {};
  const entries = Object.entries(json);
  if (type === 'AnyValue' && entries.length > 1)
    throw new Error(`${path}: AnyValue sets ${entries.length} oneof members`);
  for (const [key, value] of entries) {
    const at = path ? `${path}.${key}` : key;
    const rule = fieldsOf[key];
    if (rule === undefined)
      throw new Error(`${at}: not a field of ${type} in OTLP/JSON (lowerCamelCase)`);
    if (type === 'Span' && key === 'flags') {
      spanFlags.push(strictScalar(value, 'uint32', at) as number);
      continue;
    }
    if (type === 'Link' && key === 'flags') {
      strictScalar(value, 'uint32', at);
      continue;
    }
    if (typeof rule === 'object') {
      if (rule.repeated) {
        if (!Array.isArray(value)) throw new Error(`${at}: must be an array`);
        out[key] = value.map((item, index) =>
          strictMessage(item, rule.message, `${at}[${index}]`, spanFlags),
        );
      } else {
        out[key] = strictMessage(value, rule.message, at, spanFlags);
      }
    } else {
      if (rule === 'enum') {
        const max = ENUM_RANGES[`${type}.${key}`] ?? 0;
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
          throw new Error(
            `${at}: enum values are integers 0..${max} in OTLP/JSON, got ${JSON.stringify(value)}`,
          );
      }
      out[key] = strictScalar(value, rule, at);
    }
  }
  // Spans without flags still take their place in the list.
  if (type === 'Span' && !('flags' in json)) spanFlags.push(0);
  return out;
}

function strictScalar(value: unknown, rule: Exclude<Rule, object>, at: string): unknown {
  const fail = (expected: string): never => {
    throw new Error(`${at}: expected ${expected}, got ${JSON.stringify(value)}`);
  };
  switch (rule) {
    case 'string':
      return typeof value === 'string' ? value : fail('a string');
    case 'bool':
      return typeof value === 'boolean' ? value : fail('a boolean');
    case 'double':
      if (typeof value === 'number') return value;
      return value === 'NaN' || value === 'Infinity' || value === '-Infinity'
        ? Number(value)
        : fail('a number');
    case 'enum':
    case 'uint32':
      return typeof value === 'number' &&
        Number.isInteger(value) &&
        value >= 0 &&
        value <= 0xffffffff
        ? value
        : fail('an integer 0..2^32-1');
    case 'int64':
    case 'fixed64': {
      const text =
        typeof value === 'string' && /^-?[0-9]+$/.test(value)
          ? value
          : typeof value === 'number' && Number.isSafeInteger(value)
            ? String(value)
            : fail('a decimal string or a safe integer');
      const number = BigInt(text);
      const [min, max] =
        rule === 'fixed64' ? [0n, (1n << 64n) - 1n] : [-(1n << 63n), (1n << 63n) - 1n];
      return number < min || number > max ? fail(`a ${rule} in range`) : text;
    }
    case 'traceId':
      return typeof value === 'string' && /^[0-9a-fA-F]{32}$/.test(value)
        ? Buffer.from(value, 'hex')
        : fail('32 hex characters');
    case 'spanId':
      return typeof value === 'string' && /^[0-9a-fA-F]{16}$/.test(value)
        ? Buffer.from(value, 'hex')
        : fail('16 hex characters');
    case 'parentSpanId':
      return typeof value === 'string' && /^(?:[0-9a-fA-F]{16})?$/.test(value)
        ? Buffer.from(value, 'hex')
        : fail('16 hex characters or ""');
    case 'base64':
      return typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value)
        ? Buffer.from(value, 'base64')
        : fail('base64');
  }
}
