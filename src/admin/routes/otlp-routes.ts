import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { contentEncodingOf, parseJsonBody, readBody, validatePayload } from '../../decode/index.js';
import type { ContentEncoding } from '../../decode/index.js';
import { PharosError, isPharosError } from '../../errors/index.js';
import { formatBytes } from '../../lib/units.js';
import type { AcceptedBatch, OtlpResourceSpans } from '../../model/index.js';
import type { Registry } from '../../registry/index.js';
import {
  MEDIA_TYPE,
  decodeProtobufTraceRequest,
  encodeEmptyTraceResponse,
  withResourceAttributes,
  type OtlpEncoding,
} from '../../sinks/otlp/index.js';
import type { Principal } from '../auth.js';

export interface OtlpRoutesDeps {
  /** Tenants are checked against the in-memory registry cache. */
  registry: Pick<Registry, 'cachedTenant'>;
  /**
   * Hands the spans on (to the fan-out). A promise delays the answer until it settles (disk
   * durability); a thrown PharosError (OVERLOADED, with Retry-After) becomes the answer.
   */
  accept(batch: AcceptedBatch): void | Promise<void>;
  /** The public ingest's limits (`ingest.*`), so both doors refuse the same bodies. */
  limits: {
    maxBodyBytes: number;
    bodyTimeoutMs: number;
    maxJsonDepth: number;
    maxItemsPerRequest: number;
  };
  clock?: () => number;
}

/** Header an `admin` token (or one with several tenant scopes) names the tenant with. */
export const TENANT_HEADER = 'x-pharos-tenant';

/**
 * `POST /v1/traces` on the internal listener: OTLP/HTTP trace intake for backend services, so a
 * backend's spans reach the tenant's traces sink next to the browser's and one trace runs from
 * the click to the database. It speaks OTLP/HTTP (protobuf or JSON, gzip or deflate, 200 with an
 * empty ExportTraceServiceResponse) and answers failures with Pharos's error body and codes.
 *
 * The tenant comes from the Bearer token (`tenant:<id>`, or `admin` plus `X-Pharos-Tenant`),
 * never from the payload. Everything that needs only headers is checked before a body byte is
 * read, and the body is capped on decoded bytes like the public ingest.
 */
export async function registerOtlpRoutes(
  app: FastifyInstance,
  deps: OtlpRoutesDeps,
): Promise<void> {
  const clock = deps.clock ?? Date.now;
  const bodyLimits = { maxBytes: deps.limits.maxBodyBytes, timeoutMs: deps.limits.bodyTimeoutMs };

  await app.register((scope, _options, done) => {
    // This route reads its own body (two encodings, capped inflation); Fastify's parsers stand
    // aside in this scope only. The catch-all parser leaves the stream unread for the handler.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, parsed) => parsed(null));

    scope.post('/v1/traces', async (request: FastifyRequest, reply: FastifyReply) => {
      let encoding: OtlpEncoding;
      let tenantId: string;
      let body: Buffer;
      try {
        tenantId = resolveTenant(request, deps.registry);
        const checked = checkOtlpHeaders(request.headers, deps.limits.maxBodyBytes);
        encoding = checked.encoding;
        body = (await readBody(request.raw, checked.contentEncoding, bodyLimits)).body;
      } catch (error) {
        // The body was not (fully) read: close rather than drain whatever the client still sends.
        void reply.header('connection', 'close');
        throw error;
      }

      const decoded = decodeTraces(body, encoding, deps.limits);
      if (decoded.spans > 0) {
        // Only pharos.tenant: a backend names its own service; the traces sink adds nothing else.
        const enriched = withResourceAttributes(decoded.entries, [], tenantId);
        const payload = { traces: { resourceSpans: enriched } };
        const batch: AcceptedBatch = {
          tenantId,
          // Backend spans belong to no Pharos app; their service is in their resource.
          appId: '',
          receivedAt: clock(),
          payload,
          itemCount: decoded.spans,
          // What the batch weighs in a queue is its JSON form, not the (smaller) protobuf.
          bytes: encoding === 'json' ? body.length : JSON.stringify(payload).length,
        };
        const durable = deps.accept(batch);
        if (durable !== undefined) await durable;
      }
      return reply.status(200).type(MEDIA_TYPE[encoding]).send(encodeEmptyTraceResponse(encoding));
    });
    done();
  });
}

/**
 * The tenant a request writes to. `tenant:<id>` tokens write to their tenant; a token for
 * several tenants, or an `admin` token, must name one in `X-Pharos-Tenant`. The tenant must exist.
 */
export function resolveTenant(
  request: FastifyRequest,
  registry: Pick<Registry, 'cachedTenant'>,
): string {
  const principal: Principal | undefined = request.principal;
  // Set by the listener's authentication hook; without it, nobody may write.
  if (!principal) throw new PharosError('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
  const requested = request.headers[TENANT_HEADER];
  if (Array.isArray(requested))
    throw new PharosError('INVALID_REQUEST', 'send X-Pharos-Tenant once');
  const isAdmin = principal.scopes.includes('admin');
  const tenants = principal.scopes
    .filter((scope) => scope.startsWith('tenant:'))
    .map((scope) => scope.slice('tenant:'.length));

  let tenantId: string;
  if (requested !== undefined && requested !== '') {
    if (!isAdmin && !tenants.includes(requested)) {
      throw new PharosError(
        'FORBIDDEN',
        `this token may not write traces for tenant ${JSON.stringify(requested)}`,
      );
    }
    tenantId = requested;
  } else if (tenants.length === 1) {
    tenantId = tenants[0] as string;
  } else if (tenants.length === 0 && !isAdmin) {
    throw new PharosError('FORBIDDEN', 'this token lacks a tenant:<id> scope');
  } else {
    throw new PharosError(
      'INVALID_REQUEST',
      `${isAdmin ? 'an admin token' : 'this token'} may write for more than one tenant; name one in the X-Pharos-Tenant header`,
    );
  }
  if (!registry.cachedTenant(tenantId))
    throw new PharosError('NOT_FOUND', `tenant ${tenantId} does not exist`);
  return tenantId;
}

/** Media type and content coding (415), declared length over the cap (413): headers only. */
export function checkOtlpHeaders(
  headers: IncomingHttpHeaders,
  maxBytes: number,
): { encoding: OtlpEncoding; contentEncoding: ContentEncoding } {
  const contentType = headers['content-type'];
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  const encoding: OtlpEncoding | undefined =
    mediaType === MEDIA_TYPE.protobuf
      ? 'protobuf'
      : mediaType === MEDIA_TYPE.json
        ? 'json'
        : undefined;
  if (encoding === undefined) {
    throw new PharosError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${contentType === undefined ? 'missing Content-Type' : `Content-Type ${JSON.stringify(contentType)} is not supported`}; OTLP/HTTP sends application/x-protobuf or application/json`,
    );
  }
  const contentEncoding = contentEncodingOf(headers['content-encoding']);
  const declared = headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new PharosError(
      'BODY_TOO_LARGE',
      `Content-Length ${declared} exceeds the ${formatBytes(maxBytes)} limit`,
    );
  }
  return { encoding, contentEncoding };
}

/**
 * The body → validated resourceSpans. Both encodings end in the same OTLP/JSON shape and pass
 * the same model as browser traces (hex ids of the right length, required names and times,
 * item cap), so the traces sink cannot tell the two doors apart.
 */
function decodeTraces(
  body: Buffer,
  encoding: OtlpEncoding,
  limits: OtlpRoutesDeps['limits'],
): { entries: OtlpResourceSpans[]; spans: number } {
  const decoded: unknown =
    encoding === 'json'
      ? parseJsonBody(body, limits.maxJsonDepth)
      : decodeProtobufTraceRequest(body);
  let itemCount: number;
  try {
    // The Faro model's `traces` is exactly an ExportTraceServiceRequest in OTLP/JSON.
    ({ itemCount } = validatePayload({ traces: decoded }, limits.maxItemsPerRequest));
  } catch (error) {
    throw isPharosError(error) && error.code === 'PHAROS_ERR_PAYLOAD_INVALID'
      ? new PharosError('PAYLOAD_INVALID', withoutTracesPrefix(error.message))
      : error;
  }
  const entries = (decoded as { resourceSpans?: OtlpResourceSpans[] }).resourceSpans ?? [];
  return { entries, spans: itemCount };
}

/** Paths from the Faro model start at `traces`; here the request itself is the root. */
function withoutTracesPrefix(message: string): string {
  if (message.startsWith('traces.')) return message.slice('traces.'.length);
  if (message.startsWith('traces:')) return `(root)${message.slice('traces'.length)}`;
  return message;
}
