export { createTracesProtocol, tracesUrl } from './traces-protocol.js';
export type { TracesProtocolOptions, TracesUnitValue } from './traces-protocol.js';
export {
  MEDIA_TYPE,
  decodeProtobufTraceRequest,
  encodeEmptyTraceResponse,
  encodeTraceRequest,
} from './codec.js';
export type { OtlpEncoding, PartialSuccess } from './codec.js';
export { TENANT_ATTRIBUTE, resourceDefaults, withResourceAttributes } from './resource.js';
