import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The Faro payload model: every field the Faro Web SDK (2.x) and the Faro spec define, including
 * the ones Alloy's `faro.receiver` drops (`app.bundleId`, `app.gitHash`, `user.fullName/roles/hash`,
 * `session.overrides`, `browser.brands`, `os`, `device`, `geo`, `k6`, `action`, `exception.fatal`,
 * `frame.in_app`). Unknown fields are allowed and kept: newer SDKs add fields before we know them.
 *
 * `x-expected` names the expectation in error messages where the JSON Schema keyword alone would
 * read poorly (unions, patterns).
 */

const open = { additionalProperties: true } as const;

/** A value of a string map. The SDK stringifies; other senders may not, so scalars are accepted and stringified. */
const MapValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()], {
  'x-expected': 'string, number or boolean',
});

/** `context`, `attributes`: string maps on the wire. */
function stringMap() {
  return Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: MapValue });
}

const Timestamp = Type.String({ format: 'date-time', 'x-expected': 'an RFC 3339 date-time' });

export const TraceContextSchema = Type.Object(
  { trace_id: Type.String(), span_id: Type.String() },
  open,
);

export const ActionSchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    id: Type.Optional(Type.String()),
    parentId: Type.Optional(Type.String()),
  },
  open,
);

const common = {
  timestamp: Type.Optional(Timestamp),
  trace: Type.Optional(TraceContextSchema),
  action: Type.Optional(ActionSchema),
};

export const LogSchema = Type.Object(
  {
    message: Type.Optional(Type.String()),
    /** The SDK sends trace, debug, info, log, warn, error; the spec says warning. Any string is kept. */
    level: Type.Optional(Type.String()),
    context: Type.Optional(stringMap()),
    ...common,
  },
  open,
);

export const FrameSchema = Type.Object(
  {
    filename: Type.Optional(Type.String()),
    function: Type.Optional(Type.String()),
    module: Type.Optional(Type.String()),
    lineno: Type.Optional(Type.Integer()),
    colno: Type.Optional(Type.Integer()),
    in_app: Type.Optional(Type.Boolean()),
  },
  open,
);

export const ExceptionSchema = Type.Object(
  {
    type: Type.Optional(Type.String()),
    value: Type.Optional(Type.String()),
    stacktrace: Type.Optional(
      Type.Object({ frames: Type.Optional(Type.Array(FrameSchema)) }, open),
    ),
    context: Type.Optional(stringMap()),
    fingerprint: Type.Optional(Type.String()),
    fatal: Type.Optional(Type.Boolean()),
    ...common,
  },
  open,
);

export const MeasurementSchema = Type.Object(
  {
    type: Type.Optional(Type.String()),
    values: Type.Optional(
      Type.Unsafe<Record<string, number>>({
        type: 'object',
        additionalProperties: { type: 'number' },
      }),
    ),
    context: Type.Optional(stringMap()),
    ...common,
  },
  open,
);

export const EventSchema = Type.Object(
  {
    name: Type.String(),
    domain: Type.Optional(Type.String()),
    attributes: Type.Optional(stringMap()),
    ...common,
  },
  open,
);

// --- OTLP/JSON traces (the `traces` field), as produced by @opentelemetry/otlp-transformer ---

const HexTraceId = Type.String({ pattern: '^[0-9a-fA-F]{32}$', 'x-expected': '32 hex characters' });
const HexSpanId = Type.String({ pattern: '^[0-9a-fA-F]{16}$', 'x-expected': '16 hex characters' });
const OptionalHexSpanId = Type.String({
  pattern: '^(?:[0-9a-fA-F]{16})?$',
  'x-expected': '16 hex characters or ""',
});
const UnixNano = Type.Union(
  [Type.String({ pattern: '^[0-9]{1,20}$' }), Type.Integer({ minimum: 0 })],
  {
    'x-expected': 'nanoseconds since the epoch, as a decimal string or integer',
  },
);

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}

const AnyValueSchema = Type.Recursive(
  (Self) =>
    Type.Object(
      {
        stringValue: Type.Optional(Type.String()),
        boolValue: Type.Optional(Type.Boolean()),
        intValue: Type.Optional(
          Type.Union([Type.String({ pattern: '^-?[0-9]{1,20}$' }), Type.Integer()], {
            'x-expected': 'an integer or a decimal string',
          }),
        ),
        doubleValue: Type.Optional(Type.Number()),
        bytesValue: Type.Optional(Type.String()),
        arrayValue: Type.Optional(Type.Object({ values: Type.Optional(Type.Array(Self)) }, open)),
        kvlistValue: Type.Optional(
          Type.Object(
            {
              values: Type.Optional(
                Type.Array(Type.Object({ key: Type.String(), value: Type.Optional(Self) }, open)),
              ),
            },
            open,
          ),
        ),
      },
      open,
    ),
  { $id: 'OtlpAnyValue' },
);

/** Registered once with the validator; everything else refers to it by `$ref`. */
export const OtlpAnyValueSchema = AnyValueSchema;

const Attributes = Type.Array(
  Type.Object({ key: Type.String(), value: Type.Optional(Type.Ref(AnyValueSchema)) }, open),
);

export const SpanSchema = Type.Object(
  {
    traceId: HexTraceId,
    spanId: HexSpanId,
    parentSpanId: Type.Optional(OptionalHexSpanId),
    traceState: Type.Optional(Type.String()),
    name: Type.String(),
    kind: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
    startTimeUnixNano: UnixNano,
    endTimeUnixNano: Type.Optional(UnixNano),
    attributes: Type.Optional(Attributes),
    droppedAttributesCount: Type.Optional(Type.Integer({ minimum: 0 })),
    events: Type.Optional(
      Type.Array(
        Type.Object(
          {
            timeUnixNano: Type.Optional(UnixNano),
            name: Type.String(),
            attributes: Type.Optional(Attributes),
          },
          open,
        ),
      ),
    ),
    links: Type.Optional(
      Type.Array(
        Type.Object(
          {
            traceId: HexTraceId,
            spanId: HexSpanId,
            traceState: Type.Optional(Type.String()),
            attributes: Type.Optional(Attributes),
          },
          open,
        ),
      ),
    ),
    status: Type.Optional(
      Type.Object(
        {
          code: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 })),
          message: Type.Optional(Type.String()),
        },
        open,
      ),
    ),
    flags: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  open,
);

export const ScopeSpansSchema = Type.Object(
  {
    scope: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.String()),
          version: Type.Optional(Type.String()),
          attributes: Type.Optional(Attributes),
        },
        open,
      ),
    ),
    spans: Type.Optional(Type.Array(SpanSchema)),
    schemaUrl: Type.Optional(Type.String()),
  },
  open,
);

export const ResourceSpansSchema = Type.Object(
  {
    resource: Type.Optional(Type.Object({ attributes: Type.Optional(Attributes) }, open)),
    scopeSpans: Type.Optional(Type.Array(ScopeSpansSchema)),
    schemaUrl: Type.Optional(Type.String()),
  },
  open,
);

export const TracesSchema = Type.Object(
  { resourceSpans: Type.Optional(Type.Array(ResourceSpansSchema)) },
  open,
);

// --- meta ---

const str = () => Type.Optional(Type.String());
const obj = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Optional(Type.Object(properties, open));

export const MetaSchema = Type.Object(
  {
    sdk: obj({
      name: str(),
      version: str(),
      integrations: Type.Optional(Type.Array(Type.Object({ name: str(), version: str() }, open))),
    }),
    app: obj({
      name: str(),
      namespace: str(),
      release: str(),
      version: str(),
      environment: str(),
      bundleId: str(),
      gitHash: str(),
      installationId: str(),
    }),
    user: obj({
      id: str(),
      username: str(),
      email: str(),
      fullName: str(),
      /** Comma-separated role names. */
      roles: str(),
      hash: str(),
      attributes: Type.Optional(stringMap()),
    }),
    session: obj({
      id: str(),
      attributes: Type.Optional(stringMap()),
      overrides: obj({
        serviceName: str(),
        geoLocationTrackingEnabled: Type.Optional(Type.Boolean()),
      }),
    }),
    page: obj({ id: str(), url: str(), attributes: Type.Optional(stringMap()) }),
    browser: obj({
      name: str(),
      version: str(),
      os: str(),
      mobile: Type.Optional(Type.Boolean()),
      userAgent: str(),
      language: str(),
      brands: Type.Optional(
        Type.Union(
          [Type.String(), Type.Array(Type.Object({ brand: str(), version: str() }, open))],
          {
            'x-expected': 'a string or an array of {brand, version}',
          },
        ),
      ),
      viewportWidth: Type.Optional(
        Type.Union([Type.String(), Type.Number()], { 'x-expected': 'string or number' }),
      ),
      viewportHeight: Type.Optional(
        Type.Union([Type.String(), Type.Number()], { 'x-expected': 'string or number' }),
      ),
    }),
    os: obj({ name: str(), version: str(), build_id: str(), detail: str() }),
    device: obj({
      manufacturer: str(),
      model_identifier: str(),
      model_name: str(),
      brand: str(),
      is_physical: Type.Optional(Type.Boolean()),
      type: str(),
    }),
    geo: obj({
      continent_iso: str(),
      country_iso: str(),
      subdivision_iso: str(),
      city: str(),
      asn_org: str(),
      asn_id: str(),
    }),
    view: obj({ name: str() }),
    k6: obj({ isK6Browser: Type.Optional(Type.Boolean()), testRunId: str() }),
  },
  open,
);

export const FaroPayloadSchema = Type.Object(
  {
    meta: Type.Optional(MetaSchema),
    logs: Type.Optional(Type.Array(LogSchema)),
    exceptions: Type.Optional(Type.Array(ExceptionSchema)),
    measurements: Type.Optional(Type.Array(MeasurementSchema)),
    events: Type.Optional(Type.Array(EventSchema)),
    traces: Type.Optional(TracesSchema),
  },
  open,
);

export type FaroPayload = Static<typeof FaroPayloadSchema>;
export type FaroMeta = Static<typeof MetaSchema>;
export type FaroLog = Static<typeof LogSchema>;
export type FaroException = Static<typeof ExceptionSchema>;
export type FaroFrame = Static<typeof FrameSchema>;
export type FaroMeasurement = Static<typeof MeasurementSchema>;
export type FaroEvent = Static<typeof EventSchema>;
export type FaroTraceContext = Static<typeof TraceContextSchema>;
export type OtlpResourceSpans = Static<typeof ResourceSpansSchema>;
export type OtlpSpan = Static<typeof SpanSchema>;

/** The item kinds of a Faro payload, in the order Alloy emits them to Loki. */
export const ITEM_KINDS = ['log', 'exception', 'measurement', 'event', 'span'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

/** Number of items of each kind in a payload. */
export function countItemsByKind(payload: FaroPayload): Record<ItemKind, number> {
  let spans = 0;
  for (const resource of payload.traces?.resourceSpans ?? []) {
    for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
  }
  return {
    log: payload.logs?.length ?? 0,
    exception: payload.exceptions?.length ?? 0,
    measurement: payload.measurements?.length ?? 0,
    event: payload.events?.length ?? 0,
    span: spans,
  };
}

export function countItems(payload: FaroPayload): number {
  const counts = countItemsByKind(payload);
  return counts.log + counts.exception + counts.measurement + counts.event + counts.span;
}
