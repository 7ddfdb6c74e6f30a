export { ERRORS } from './codes.js';
export type { ErrorCode, ErrorDefinition, ErrorName } from './codes.js';
export { PharosError, errorBody, isPharosError } from './pharos-error.js';
export type { ErrorBody } from './pharos-error.js';
export { renderErrorReference } from './reference.js';
