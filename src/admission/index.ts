export { createAdmission } from './admission.js';
export type { Admission, AdmissionRequest, Admitted, KeyResolver } from './admission.js';
export { compileOrigins, originMatcherOf } from './origins.js';
export type { OriginMatcher } from './origins.js';
