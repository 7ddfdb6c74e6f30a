import { createHash, timingSafeEqual } from 'node:crypto';
import { PharosError } from '../../errors/index.js';
import type { App, Registry } from '../../registry/index.js';

/** Who may manage an app's source maps: `admin`, `tenant:<app's tenant>` or `sourcemaps:<app>`. */
export function canManageSourceMaps(scopes: readonly string[], app: App): boolean {
  return (
    scopes.includes('admin') ||
    scopes.includes(`tenant:${app.tenantId}`) ||
    scopes.includes(`sourcemaps:${app.id}`)
  );
}

export interface UploadCredentials {
  /** faro-cli's `--stack-id`; Pharos reads it as a tenant id. Undefined when not sent or empty. */
  stackId: string | undefined;
  principal: { name: string; scopes: readonly string[] };
}

/**
 * Authenticates an upload the way faro-cli and the bundler plugins send it:
 * `Authorization: Bearer <stackId>:<apiKey>`, where the API key is a Pharos token. A plain
 * `Bearer <token>` (the Pharos CLI, curl by hand) works too. Since a configured admin token may
 * itself contain a colon, the whole credential is tried as a token before it is split.
 */
export async function authenticateUpload(
  header: string | undefined,
  registry: Pick<Registry, 'findToken'>,
  staticAdminToken: string,
): Promise<UploadCredentials> {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new PharosError(
      'UNAUTHORIZED',
      'missing Authorization: Bearer <stackId>:<apiKey> (faro-cli -s <tenant> -k <Pharos token>)',
    );
  }
  const credential = match[1] as string;
  const whole = await findPrincipal(credential, registry, staticAdminToken);
  if (whole) return { stackId: undefined, principal: whole };

  const colon = credential.indexOf(':');
  if (colon !== -1) {
    const stackId = credential.slice(0, colon);
    const principal = await findPrincipal(credential.slice(colon + 1), registry, staticAdminToken);
    if (principal) return { stackId: stackId === '' ? undefined : stackId, principal };
  }
  throw new PharosError('UNAUTHORIZED', 'invalid token');
}

async function findPrincipal(
  token: string,
  registry: Pick<Registry, 'findToken'>,
  staticAdminToken: string,
): Promise<UploadCredentials['principal'] | undefined> {
  if (token === '') return undefined;
  if (staticAdminToken !== '' && sameSecret(token, staticAdminToken))
    return { name: 'config', scopes: ['admin'] };
  const record = await registry.findToken(token);
  return record && { name: record.name, scopes: record.scopes };
}

/** Compares digests, so neither the content nor the length of the secret leaks through timing. */
function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The app whose maps a token wants to manage, if it may. An unknown app is 404 only for tokens
 * that could have managed it (admin, or `sourcemaps:<that id>`), so other tokens learn nothing
 * about which apps exist.
 */
export async function requireManagedApp(
  scopes: readonly string[],
  appId: string,
  registry: Pick<Registry, 'store'>,
): Promise<App> {
  const app = await registry.store.getApp(appId);
  if (!app) {
    if (scopes.includes('admin') || scopes.includes(`sourcemaps:${appId}`))
      throw new PharosError('NOT_FOUND', `app ${appId} does not exist`);
    throw new PharosError('FORBIDDEN', `this token may not manage source maps of app ${appId}`);
  }
  if (!canManageSourceMaps(scopes, app))
    throw new PharosError('FORBIDDEN', `this token may not manage source maps of app ${appId}`);
  return app;
}

/**
 * A stack id, when sent, must be the app's tenant: a CI job configured for one tenant cannot
 * write into another tenant's app, even with a broader token.
 */
export function checkStackId(stackId: string | undefined, app: App): void {
  if (stackId !== undefined && stackId !== app.tenantId) {
    throw new PharosError(
      'FORBIDDEN',
      `stack id ${JSON.stringify(stackId)} is not the tenant of app ${app.id}; pass the tenant id (-s ${app.tenantId}) or an empty one`,
    );
  }
}
