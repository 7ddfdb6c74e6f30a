import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { PharosError } from '../errors/index.js';
import type { Registry } from '../registry/index.js';

export interface Principal {
  name: string;
  scopes: readonly string[];
}

export interface AuthOptions {
  registry: Registry;
  /** `admin.token` from the config, accepted as an admin token when set. */
  staticToken: string;
}

const CACHE_MS = 30_000;

/**
 * Bearer-token authentication for the internal listener. Tokens are stored hashed; a verified
 * token is remembered for a short while so a busy CLI does not hit the database every call.
 */
export function createAuthenticator({ registry, staticToken }: AuthOptions) {
  const verified = new Map<string, { principal: Principal; until: number }>();

  return async function authenticate(request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new PharosError(
        'UNAUTHORIZED',
        'missing Authorization: Bearer <token> (see the admin-token file in the data dir)',
      );
    }
    const token = match[1] as string;
    if (staticToken !== '' && constantTimeEqual(token, staticToken))
      return { name: 'config', scopes: ['admin'] };

    const now = Date.now();
    const cached = verified.get(token);
    if (cached && cached.until > now) return cached.principal;
    const record = await registry.findToken(token);
    if (!record) throw new PharosError('UNAUTHORIZED', 'invalid token');
    const principal = { name: record.name, scopes: record.scopes };
    if (verified.size > 1000) verified.clear();
    verified.set(token, { principal, until: now + CACHE_MS });
    return principal;
  };
}

export function requireScope(principal: Principal, scope: string): void {
  if (!principal.scopes.includes('admin') && !principal.scopes.includes(scope)) {
    throw new PharosError('FORBIDDEN', `this token lacks the ${scope} scope`);
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
