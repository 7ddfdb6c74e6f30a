import { VERSION } from '../../version.js';
import type { SendOutcome, SinkProtocol } from '../delivery/types.js';
import {
  classifyFetchError,
  classifyResponse,
  lokiPushUrl,
  postPush,
  pushHeaders,
  type BasicAuth,
  type PostResult,
} from './http.js';
import { compileLabelRules } from './labels.js';
import type { LokiLineFormat, TrailingKeys } from './lines.js';
import { encodePushJson, JSON_CONTENT_TYPE } from './push-json.js';
import { encodePushProtobuf, PROTOBUF_CONTENT_TYPE } from './push-protobuf.js';
import { groupStreams } from './push-streams.js';
import type { LokiTimestampSource } from './timestamps.js';
import { createUnitBuilder, deserializeUnit, serializeUnit, type LokiUnit } from './unit.js';

export type LokiPushEncoding = 'protobuf' | 'json';

export interface LokiProtocolOptions {
  /** Loki base URL; `/loki/api/v1/push` is appended unless the URL already ends with it. */
  readonly url: string;
  /** `X-Scope-OrgID`; no header when undefined (a single-tenant Loki). */
  readonly orgId?: string;
  /** Line format. Default `logfmt`: byte for byte Alloy's `faro.receiver` line. */
  readonly format?: LokiLineFormat;
  /** Push encoding. Default `protobuf` (snappy): cheaper to encode, see bench/loki-encoding.ts. */
  readonly encoding?: LokiPushEncoding;
  /** Extra labels: a value is static, `""` copies the line key of that name (Alloy's `extra_log_labels`). */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Send session, trace, span, page and app ids as structured metadata (Loki 3). Default true;
   * turned off by itself if Loki answers that structured metadata is disallowed.
   */
  readonly structuredMetadata?: boolean;
  /** Entry timestamp: `receive` (default, as Alloy) or `client` (the item's own time, bounded). */
  readonly timestamp?: LokiTimestampSource;
  /** Extra request headers (a gateway's token, for instance). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly basicAuth?: BasicAuth;
  /** The registry's name of an app, for `service_name` when a payload has no `meta.app.name`. */
  readonly appName?: (appId: string) => string | undefined;
  /** Keys appended to every line after Alloy's. */
  readonly trailingKeys?: TrailingKeys;
}

/**
 * Pharos's Loki sink protocol, for the delivery framework: `select` formats a batch's lines once,
 * at accept time; `send` pushes a group of them as one request and says what became of it.
 * Throws at construction on an invalid URL, label name or header.
 */
export function createLokiProtocol(options: LokiProtocolOptions): SinkProtocol<LokiUnit> {
  const url = lokiPushUrl(options.url);
  const encoding = options.encoding ?? 'protobuf';
  let withMetadata = options.structuredMetadata ?? true;
  if (options.basicAuth && hasHeader(options.headers, 'authorization')) {
    throw new Error('Loki: set either basicAuth or an Authorization header, not both');
  }
  const headers = pushHeaders({
    contentType: encoding === 'protobuf' ? PROTOBUF_CONTENT_TYPE : JSON_CONTENT_TYPE,
    ...(encoding === 'json' ? { contentEncoding: 'gzip' } : {}),
    ...(options.orgId !== undefined ? { orgId: options.orgId } : {}),
    ...(options.basicAuth ? { basicAuth: options.basicAuth } : {}),
    ...(options.headers ? { extra: options.headers } : {}),
    userAgent: `pharos/${VERSION}`,
  });
  const select = createUnitBuilder({
    format: options.format ?? 'logfmt',
    labelRules: compileLabelRules(options.labels),
    structuredMetadata: withMetadata,
    timestamp: options.timestamp ?? 'receive',
    ...(options.appName ? { appName: options.appName } : {}),
    ...(options.trailingKeys ? { trailingKeys: options.trailingKeys } : {}),
  });

  async function send(values: readonly LokiUnit[], signal: AbortSignal): Promise<SendOutcome> {
    let body: Buffer;
    try {
      const streams = groupStreams(values);
      if (streams.length === 0) return { status: 'delivered' };
      // Units spooled while structured metadata was on are sent without it once it is off.
      body =
        encoding === 'protobuf'
          ? await encodePushProtobuf(streams, withMetadata)
          : await encodePushJson(streams, withMetadata);
    } catch (error) {
      // Cannot happen with well-formed units; if it does, the same units would fail again.
      return { status: 'rejected', reason: 'encode_failed', detail: String(error) };
    }
    let result: PostResult;
    try {
      result = await postPush(url, headers, body, signal);
    } catch (error) {
      return classifyFetchError(error, signal);
    }
    if (withMetadata && refusesStructuredMetadata(result)) {
      // A Loki without structured metadata (before 3.0, or `allow_structured_metadata: false`)
      // refuses every push that carries it. The ids are on the line too, so push without it from
      // now on rather than drop everything: the same units go again at once.
      withMetadata = false;
      return { status: 'retry', reason: 'structured_metadata_disallowed', retryAfterMs: 0 };
    }
    return classifyResponse(result.status, result.retryAfter, result.body, Date.now());
  }

  return {
    kind: 'loki',
    select,
    serialize: serializeUnit,
    deserialize: deserializeUnit,
    send,
  };
}

/** Loki's `DisallowedStructuredMetadataErrorMsg` (pkg/validation). */
function refusesStructuredMetadata(result: PostResult): boolean {
  return (
    result.status === 400 &&
    result.body.includes('includes structured metadata, but this feature is disallowed')
  );
}

function hasHeader(headers: Readonly<Record<string, string>> | undefined, name: string): boolean {
  return Object.keys(headers ?? {}).some((key) => key.toLowerCase() === name);
}
