export { createCorsPolicy, DEFAULT_ALLOWED_HEADERS, EXPOSED_HEADERS } from './cors.js';
export type { CorsOptions, CorsPolicy } from './cors.js';
export { createPublicServer } from './public-server.js';
export type { PublicServerDeps } from './public-server.js';
