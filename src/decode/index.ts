export { contentEncodingOf, readBody } from './body.js';
export type { BodyLimits, ContentEncoding } from './body.js';
export { checkBodyHeaders } from './headers.js';
export { parseJsonBody } from './json.js';
export { validatePayload } from './validate.js';
export type { ValidPayload } from './validate.js';
