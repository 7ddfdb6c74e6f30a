import protobuf from 'protobufjs';

/**
 * The part of opentelemetry-proto that OTLP/HTTP traces need, copied field by field from the
 * published definitions (opentelemetry-proto 1.x: `opentelemetry/proto/{common,resource,trace}/v1`
 * and `collector/trace/v1`): same packages, messages, field numbers and types, so a reviewer can
 * hold it next to upstream. Field numbers never change upstream; `Span.flags` and `Link.flags`
 * arrived in 1.1. Written as `.proto` text rather than generated code: protobufjs
 * reflection builds the encoder and decoder from it at start (once, ~1 ms), and there is no
 * generated file to keep in step.
 *
 * Left out on purpose: fields Pharos never reads or writes (`Resource.entity_refs`, the
 * `google.rpc.Status.details` Any list). Unknown fields are skipped on decode, so a sender that
 * uses them is still understood.
 */
const COMMON_PROTO = `
syntax = "proto3";

package opentelemetry.proto.common.v1;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue {
  string key = 1;
  AnyValue value = 2;
}
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
`;

const RESOURCE_PROTO = `
syntax = "proto3";

package opentelemetry.proto.resource.v1;

message Resource {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}
`;

const TRACE_PROTO = `
syntax = "proto3";

package opentelemetry.proto.trace.v1;

message ResourceSpans {
  reserved 1000;
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ScopeSpans {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0;
    SPAN_KIND_INTERNAL = 1;
    SPAN_KIND_SERVER = 2;
    SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4;
    SPAN_KIND_CONSUMER = 5;
  }
  SpanKind kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4;
  }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  message Link {
    bytes trace_id = 1;
    bytes span_id = 2;
    string trace_state = 3;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5;
    fixed32 flags = 6;
  }
  repeated Link links = 13;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  reserved 1;
  string message = 2;
  enum StatusCode {
    STATUS_CODE_UNSET = 0;
    STATUS_CODE_OK = 1;
    STATUS_CODE_ERROR = 2;
  }
  StatusCode code = 3;
}
`;

const TRACE_SERVICE_PROTO = `
syntax = "proto3";

package opentelemetry.proto.collector.trace.v1;

message ExportTraceServiceRequest {
  repeated opentelemetry.proto.trace.v1.ResourceSpans resource_spans = 1;
}
message ExportTraceServiceResponse {
  ExportTracePartialSuccess partial_success = 1;
}
message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}
`;

/** The body of an OTLP/HTTP failure response (google/rpc/status.proto). */
const RPC_STATUS_PROTO = `
syntax = "proto3";

package google.rpc;

message Status {
  int32 code = 1;
  string message = 2;
}
`;

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const source of [
    COMMON_PROTO,
    RESOURCE_PROTO,
    TRACE_PROTO,
    TRACE_SERVICE_PROTO,
    RPC_STATUS_PROTO,
  ]) {
    // keepCase false: fields get the lowerCamelCase names of the OTLP/JSON mapping.
    protobuf.parse(source, root, { keepCase: false });
  }
  root.resolveAll();
  return root;
}

const root = buildRoot();

export const ExportTraceServiceRequest = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
);
export const ExportTraceServiceResponse = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
);
export const RpcStatus = root.lookupType('google.rpc.Status');
