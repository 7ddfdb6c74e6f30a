export { createLokiProtocol } from './protocol.js';
export type { LokiProtocolOptions, LokiPushEncoding } from './protocol.js';
export type { BasicAuth } from './http.js';
export { LOKI_PUSH_PATH, lokiPushUrl } from './http.js';
export { formatPayloadLines, lokiItems } from './lines.js';
export type {
  FormattedLine,
  LokiItem,
  LokiItemKind,
  LokiLineFormat,
  TrailingKeys,
} from './lines.js';
export type { LokiTimestampSource } from './timestamps.js';
export type { LabelPairs, LokiEntry, LokiStreamPart, LokiUnit } from './unit.js';
