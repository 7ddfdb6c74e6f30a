import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { uncompressSync } from 'snappy';

/**
 * A strict stand-in for Loki's push API (`POST /loki/api/v1/push`), for tests. It decodes both
 * encodings Loki accepts, snappy-compressed protobuf and (gzip) JSON, with code of its own: the
 * protobuf schema below is written from `grafana/loki` `pkg/push/push.proto` and decoded by
 * protobufjs reflection, so the client's hand-written encoder is checked by an independent
 * decoder. It checks what Loki checks and a little more (see {@link checkPush}); any violation is
 * answered 400 *and* recorded, so a test can assert there were none.
 */

const PUSH_PROTO = `
syntax = "proto3";
package logproto;
message PushRequest {
  repeated StreamAdapter streams = 1;
  string format = 2;
}
message StreamAdapter {
  string labels = 1;
  repeated EntryAdapter entries = 2;
  uint64 hash = 3;
}
message LabelPairAdapter {
  string name = 1;
  string value = 2;
}
message EntryAdapter {
  google.protobuf.Timestamp timestamp = 1;
  string line = 2;
  repeated LabelPairAdapter structuredMetadata = 3;
  repeated LabelPairAdapter parsed = 4;
}
`;
const TIMESTAMP_PROTO = `
syntax = "proto3";
package google.protobuf;
message Timestamp {
  int64 seconds = 1;
  int32 nanos = 2;
}
`;

const root = new protobuf.Root();
protobuf.parse(TIMESTAMP_PROTO, root, { keepCase: true });
protobuf.parse(PUSH_PROTO, root, { keepCase: true });
const PushRequest = root.lookupType('logproto.PushRequest');

interface DecodedPush {
  streams?: {
    labels?: string;
    hash?: string;
    entries?: {
      timestamp?: { seconds?: string; nanos?: number };
      line?: string;
      structuredMetadata?: { name?: string; value?: string }[];
      parsed?: unknown[];
    }[];
  }[];
  format?: string;
}

export const PUSH_PATH = '/loki/api/v1/push';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface ReceivedEntry {
  /** Nanoseconds since the epoch. */
  readonly timestamp: bigint;
  readonly line: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ReceivedStream {
  readonly labels: Readonly<Record<string, string>>;
  /** The labels string as sent (protobuf only). */
  readonly labelsText?: string;
  readonly entries: readonly ReceivedEntry[];
}

export interface ReceivedPush {
  readonly orgId: string | undefined;
  readonly encoding: 'protobuf' | 'json';
  readonly contentEncoding: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly streams: readonly ReceivedStream[];
}

export interface FlatEntry extends ReceivedEntry {
  readonly orgId: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** What the receiver answered. */
  readonly status: number;
}

export interface LokiReceiverOptions {
  /** Refuse pushes without `X-Scope-OrgID` (default true, as a multi-tenant Loki does). */
  readonly requireOrgId?: boolean;
}

export interface LokiReceiver {
  /** Base URL, `http://127.0.0.1:<port>` (the client appends the push path). */
  readonly url: string;
  /** Pushes that were accepted (answered 2xx), in arrival order. */
  readonly pushes: readonly ReceivedPush[];
  /** Every request, answered or not, with the status given. */
  readonly requests: readonly RequestRecord[];
  /** Strictness violations seen (each was answered 400). */
  readonly violations: readonly string[];
  /** TCP connections accepted so far (a client that keeps connections alive opens few). */
  readonly connections: number;
  /** Entries of accepted pushes, flattened in arrival order. */
  entries(): FlatEntry[];
  /** Resolves once accepted pushes hold at least `count` entries. */
  waitForEntries(count: number, timeoutMs?: number): Promise<FlatEntry[]>;
  /** `refuse`: stop listening (connections are refused); `503`: answer every push 503. */
  down(mode?: 'refuse' | '503'): Promise<void>;
  up(): Promise<void>;
  /** Answer the next `times` pushes (default: all until `clearResponses`) with this response. */
  respondWith(
    status: number,
    headers?: Readonly<Record<string, string>>,
    body?: string,
    times?: number,
  ): void;
  clearResponses(): void;
  /** Wait this long before answering each request (for timeout tests). */
  setDelay(ms: number): void;
  /** Forget everything received. */
  reset(): void;
  close(): Promise<void>;
}

interface ScriptedResponse {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: string;
  remaining: number;
}

export async function startLokiReceiver(options: LokiReceiverOptions = {}): Promise<LokiReceiver> {
  const requireOrgId = options.requireOrgId ?? true;
  const pushes: ReceivedPush[] = [];
  const requests: RequestRecord[] = [];
  const violations: string[] = [];
  const scripted: ScriptedResponse[] = [];
  let answer503 = false;
  let delayMs = 0;
  let waiters: (() => void)[] = [];

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  server.keepAliveTimeout = 30_000;
  let connections = 0;
  server.on('connection', () => {
    connections += 1;
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const path = (request.url ?? '').split('?')[0] ?? '';
    const reply = (status: number, text = '', headers: Record<string, string> = {}): void => {
      requests.push({ method: request.method ?? '', path, headers: request.headers, status });
      if (response.destroyed) return;
      response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      response.end(text);
    };

    const problems: string[] = [];
    let push: ReceivedPush | undefined;
    try {
      push = checkPush(request, path, body, requireOrgId, problems);
    } catch (error) {
      problems.push(`undecodable body: ${String(error)}`);
    }
    if (problems.length > 0 || !push) {
      violations.push(...problems);
      reply(400, problems.join('\n'));
      return;
    }
    if (answer503) {
      reply(503, 'Loki is down (test)');
      return;
    }
    const script = scripted[0];
    if (script) {
      script.remaining -= 1;
      if (script.remaining <= 0) scripted.shift();
      if (script.status < 200 || script.status >= 300) {
        reply(script.status, script.body, { ...script.headers });
        return;
      }
      pushes.push(push);
      reply(script.status, script.body, { ...script.headers });
    } else {
      pushes.push(push);
      reply(204);
    }
    const pending = waiters;
    waiters = [];
    for (const wake of pending) wake();
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  const entries = (): FlatEntry[] =>
    pushes.flatMap((push) =>
      push.streams.flatMap((stream) =>
        stream.entries.map((entry) => ({ ...entry, orgId: push.orgId, labels: stream.labels })),
      ),
    );

  return {
    url: `http://127.0.0.1:${port}`,
    pushes,
    requests,
    violations,
    get connections() {
      return connections;
    },
    entries,
    async waitForEntries(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (entries().length < count) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `Loki receiver: ${entries().length} of ${count} entries after ${timeoutMs} ms`,
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 100));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return entries();
    },
    async down(mode = 'refuse') {
      if (mode === '503') {
        answer503 = true;
        return;
      }
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
    async up() {
      answer503 = false;
      if (server.listening) return;
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    respondWith(status, headers = {}, body = '', times = Number.POSITIVE_INFINITY) {
      scripted.push({ status, headers, body, remaining: times });
    },
    clearResponses() {
      scripted.length = 0;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    reset() {
      connections = 0;
      pushes.length = 0;
      requests.length = 0;
      violations.length = 0;
    },
    async close() {
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Decodes and checks one push; problems go to `problems`. Checked: method and path; content
 * type and encoding (protobuf: snappy body, no Content-Encoding; JSON: gzip or none);
 * `X-Scope-OrgID`; a well-formed body; per stream: a labels string that parses, at least one
 * label, valid and distinct label names, no empty value, a label set not repeated within the push;
 * per entry: a non-empty line, timestamps not decreasing within the stream, valid structured
 * metadata names, and nothing in the read-path-only `parsed` field.
 */
function checkPush(
  request: IncomingMessage,
  path: string,
  body: Buffer,
  requireOrgId: boolean,
  problems: string[],
): ReceivedPush | undefined {
  if (request.method !== 'POST') problems.push(`method ${request.method} instead of POST`);
  if (path !== PUSH_PATH) problems.push(`path ${path} instead of ${PUSH_PATH}`);
  const orgId = headerValue(request.headers['x-scope-orgid']);
  if (requireOrgId && !orgId) problems.push('no X-Scope-OrgID header');
  const contentType = (headerValue(request.headers['content-type']) ?? '').split(';')[0]?.trim();
  const contentEncoding = headerValue(request.headers['content-encoding']);
  if (body.length === 0) problems.push('empty body');
  if (problems.length > 0) return undefined;

  let streams: ReceivedStream[];
  let encoding: 'protobuf' | 'json';
  if (contentType === 'application/x-protobuf') {
    encoding = 'protobuf';
    if (contentEncoding !== undefined) {
      problems.push(`protobuf push with Content-Encoding ${contentEncoding} (snappy is implied)`);
      return undefined;
    }
    streams = decodeProtobuf(body, problems);
  } else if (contentType === 'application/json') {
    encoding = 'json';
    if (contentEncoding !== undefined && contentEncoding !== 'gzip') {
      problems.push(`JSON push with Content-Encoding ${contentEncoding}`);
      return undefined;
    }
    const text = (contentEncoding === 'gzip' ? gunzipSync(body) : body).toString('utf8');
    streams = decodeJson(JSON.parse(text) as unknown, problems);
  } else {
    problems.push(`unsupported Content-Type ${String(contentType)}`);
    return undefined;
  }

  const seen = new Set<string>();
  streams.forEach((stream, index) => {
    const names = Object.keys(stream.labels);
    if (names.length === 0) problems.push(`stream ${index}: no labels`);
    for (const name of names) {
      if (!LABEL_NAME.test(name)) problems.push(`stream ${index}: invalid label name ${name}`);
      if (stream.labels[name] === '') problems.push(`stream ${index}: label ${name} is empty`);
    }
    const identity = JSON.stringify(names.sort().map((name) => [name, stream.labels[name]]));
    if (seen.has(identity)) problems.push(`stream ${index}: label set repeated in one push`);
    seen.add(identity);
    if (stream.entries.length === 0) problems.push(`stream ${index}: no entries`);
    let previous = -1n;
    stream.entries.forEach((entry, entryIndex) => {
      const where = `stream ${index} entry ${entryIndex}`;
      if (entry.line === '') problems.push(`${where}: empty line`);
      if (entry.timestamp < previous) problems.push(`${where}: timestamp goes back`);
      previous = entry.timestamp;
      for (const name of Object.keys(entry.metadata)) {
        if (!LABEL_NAME.test(name)) problems.push(`${where}: invalid metadata name ${name}`);
      }
    });
  });
  return {
    orgId,
    encoding,
    contentEncoding,
    headers: request.headers,
    streams,
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function decodeProtobuf(body: Buffer, problems: string[]): ReceivedStream[] {
  const raw = uncompressSync(body);
  const message = PushRequest.decode(typeof raw === 'string' ? Buffer.from(raw) : raw);
  const push = PushRequest.toObject(message, { longs: String, defaults: false }) as DecodedPush;
  if (push.format) problems.push(`PushRequest.format is set (${push.format})`);
  return (push.streams ?? []).map((stream, index) => {
    const labelsText = stream.labels ?? '';
    const labels = parseLabels(labelsText, `stream ${index}`, problems);
    const entries = (stream.entries ?? []).map((entry, entryIndex): ReceivedEntry => {
      if (entry.parsed && entry.parsed.length > 0) {
        problems.push(`stream ${index} entry ${entryIndex}: the read-only parsed field is set`);
      }
      const seconds = BigInt(entry.timestamp?.seconds ?? '0');
      const nanos = entry.timestamp?.nanos ?? 0;
      if (nanos < 0 || nanos > 999_999_999) {
        problems.push(`stream ${index} entry ${entryIndex}: nanos ${nanos} out of range`);
      }
      const metadata: Record<string, string> = {};
      for (const pair of entry.structuredMetadata ?? []) {
        const name = pair.name ?? '';
        if (name in metadata) problems.push(`stream ${index}: metadata ${name} repeated`);
        metadata[name] = pair.value ?? '';
      }
      return {
        timestamp: seconds * 1_000_000_000n + BigInt(nanos),
        line: entry.line ?? '',
        metadata,
      };
    });
    return { labels, labelsText, entries };
  });
}

function decodeJson(value: unknown, problems: string[]): ReceivedStream[] {
  const streams = isObject(value) ? value.streams : undefined;
  if (!Array.isArray(streams)) {
    problems.push('JSON push without a "streams" array');
    return [];
  }
  return streams.map((stream: unknown, index): ReceivedStream => {
    const where = `stream ${index}`;
    if (!isObject(stream) || !isObject(stream.stream) || !Array.isArray(stream.values)) {
      problems.push(`${where}: needs "stream" (object) and "values" (array)`);
      return { labels: {}, entries: [] };
    }
    const labels = stringRecord(stream.stream, `${where} labels`, problems);
    const entries = (stream.values as unknown[]).map((value, entryIndex): ReceivedEntry => {
      const at = `${where} value ${entryIndex}`;
      if (
        !Array.isArray(value) ||
        (value.length !== 2 && value.length !== 3) ||
        typeof value[0] !== 'string' ||
        !/^\d+$/.test(value[0]) ||
        typeof value[1] !== 'string'
      ) {
        problems.push(`${at}: needs ["<unix ns>", "<line>"(, {metadata})]`);
        return { timestamp: 0n, line: '', metadata: {} };
      }
      const metadata = value.length === 3 ? stringRecord(value[2], `${at} metadata`, problems) : {};
      return { timestamp: BigInt(value[0]), line: value[1], metadata };
    });
    return { labels, entries };
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringRecord(value: unknown, where: string, problems: string[]): Record<string, string> {
  if (!isObject(value)) {
    problems.push(`${where}: not an object`);
    return {};
  }
  const record: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') problems.push(`${where}: ${key} is not a string`);
    else record[key] = item;
  }
  return record;
}

/**
 * Parses a labels string in Prometheus text form, `{name="value", ...}`, as Loki's parser reads
 * it: names `[a-zA-Z_][a-zA-Z0-9_]*`, double-quoted values with Go's escapes (`\a \b \f \n \r \t
 * \v \\ \"`, `\xHH`, three-digit octal, `\uHHHH`, `\UHHHHHHHH`) and no raw newline.
 */
export function parseLabels(
  text: string,
  where: string,
  problems: string[],
): Record<string, string> {
  const labels: Record<string, string> = {};
  let pos = 0;
  const fail = (message: string): Record<string, string> => {
    problems.push(`${where}: labels ${JSON.stringify(text)}: ${message} at ${pos}`);
    return labels;
  };
  const skipSpaces = (): void => {
    while (text[pos] === ' ') pos++;
  };
  if (text[pos] !== '{') return fail('expected {');
  pos++;
  skipSpaces();
  if (text[pos] === '}') return pos + 1 === text.length ? labels : fail('trailing text');
  for (;;) {
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(pos))?.[0];
    if (!name) return fail('expected a label name');
    pos += name.length;
    skipSpaces();
    if (text[pos] !== '=') return fail('expected =');
    pos++;
    skipSpaces();
    if (text[pos] !== '"') return fail('expected "');
    pos++;
    let value = '';
    for (;;) {
      const char = text[pos];
      if (char === undefined) return fail('unterminated value');
      if (char === '"') break;
      if (char === '\n') return fail('raw newline in value');
      if (char !== '\\') {
        value += char;
        pos++;
        continue;
      }
      const escape = text[pos + 1];
      const simple: Record<string, string> = {
        a: '\u0007',
        b: '\b',
        f: '\f',
        n: '\n',
        r: '\r',
        t: '\t',
        v: '\v',
        '\\': '\\',
        '"': '"',
      };
      if (escape !== undefined && simple[escape] !== undefined) {
        value += simple[escape];
        pos += 2;
        continue;
      }
      const hexLength = escape === 'x' ? 2 : escape === 'u' ? 4 : escape === 'U' ? 8 : 0;
      if (hexLength > 0) {
        const digits = text.slice(pos + 2, pos + 2 + hexLength);
        if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(digits)) return fail('bad escape');
        value += String.fromCodePoint(Number.parseInt(digits, 16));
        pos += 2 + hexLength;
        continue;
      }
      const octal = text.slice(pos + 1, pos + 4);
      if (/^[0-7]{3}$/.test(octal)) {
        value += String.fromCharCode(Number.parseInt(octal, 8));
        pos += 4;
        continue;
      }
      return fail(`unknown escape \\${escape ?? ''}`);
    }
    pos++; // closing quote
    if (name in labels) problems.push(`${where}: label ${name} repeated`);
    labels[name] = value;
    skipSpaces();
    if (text[pos] === ',') {
      pos++;
      skipSpaces();
      continue;
    }
    if (text[pos] === '}') {
      pos++;
      return pos === text.length ? labels : fail('trailing text');
    }
    return fail('expected , or }');
  }
}
