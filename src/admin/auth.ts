import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { PharosError } from '../errors/index.js';
import type { Registry } from '../registry/index.js';
import { hashToken } from '../registry/registry.js';

/** Who is calling: the token's name, id and scopes (see docs/api.md for what each scope may do). */
export interface Principal {
  name: string;
  /** The token's registry id; null for the configured `admin.token`. */
  tokenId: string | null;
  scopes: readonly string[];
  /** When the token stops working (registry clock); null: never. Tokens it creates cannot outlive it. */
  expiresAt: number | null;
}

export interface AuthOptions {
  registry: Pick<Registry, 'findToken' | 'clock'>;
  /** `admin.token` from the config, accepted as an admin token when set. */
  staticToken: string;
}

export interface Authenticator {
  /** The caller of a request; throws UNAUTHORIZED without a valid token. */
  authenticate(request: FastifyRequest): Promise<Principal>;
  /** Forgets every verified token, so that a revocation made here takes effect at once. */
  forget(): void;
}

/**
 * How long a verified token is trusted without asking the registry again. A revocation made
 * through this listener clears the cache at once; one made elsewhere (another replica, the
 * database by hand) takes effect within this.
 */
export const TOKEN_CACHE_MS = 2_000;
const CACHE_ENTRIES = 1_000;

/** Authenticates the configured admin token; it has no registry record. */
const STATIC_ADMIN: Principal = {
  name: 'admin.token',
  tokenId: null,
  scopes: ['admin'],
  expiresAt: null,
};

/**
 * Bearer-token authentication for the internal listener. Tokens are stored hashed; a verified
 * token is remembered for a moment so a busy CLI or OTLP exporter does not hit the database on
 * every call. The cache is keyed by the hash, so no token is kept in memory in clear.
 */
export function createAuthenticator({ registry, staticToken }: AuthOptions): Authenticator {
  const verified = new Map<string, { principal: Principal; until: number }>();

  return {
    async authenticate(request) {
      const header = request.headers.authorization;
      const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) {
        throw new PharosError(
          'UNAUTHORIZED',
          'missing Authorization: Bearer <token> (see the admin-token file in the data dir)',
        );
      }
      const token = match[1] as string;
      if (staticToken !== '' && constantTimeEqual(token, staticToken)) return STATIC_ADMIN;

      const hash = hashToken(token);
      const cached = verified.get(hash);
      if (cached && cached.until > Date.now() && !expired(cached.principal, registry.clock()))
        return cached.principal;
      const record = await registry.findToken(token);
      if (!record) {
        verified.delete(hash);
        throw new PharosError('UNAUTHORIZED', 'invalid, expired or revoked token');
      }
      const principal: Principal = {
        name: record.name,
        tokenId: record.id,
        scopes: record.scopes,
        expiresAt: record.expiresAt,
      };
      if (verified.size >= CACHE_ENTRIES) verified.clear();
      verified.set(hash, { principal, until: Date.now() + TOKEN_CACHE_MS });
      return principal;
    },
    forget() {
      verified.clear();
    },
  };
}

function expired(principal: Principal, now: number): boolean {
  return principal.expiresAt !== null && principal.expiresAt <= now;
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
