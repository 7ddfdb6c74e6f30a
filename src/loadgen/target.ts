import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { AppTarget } from './sessions.js';

/**
 * The collector under load. A load generator pointed at someone else's service by mistake is a
 * denial of service, so only loopback targets are allowed unless the caller says otherwise.
 */
export async function checkTarget(url: URL, allowRemote: boolean): Promise<void> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`the target must be an http:// or https:// URL (got ${url.protocol})`);
  }
  if (allowRemote) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses =
    isIP(host) !== 0
      ? [host]
      : (await lookup(host, { all: true }).catch(() => [])).map((entry) => entry.address);
  if (addresses.length === 0) throw new Error(`cannot resolve ${host}`);
  const remote = addresses.filter((address) => !isLoopback(address));
  if (remote.length > 0) {
    throw new Error(
      `${host} resolves to ${remote.join(', ')}, which is not loopback: pass --allow-remote to load a collector on another machine (only one you run)`,
    );
  }
}

export function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  const lower = address.toLowerCase();
  return lower === '::1' || lower.startsWith('::ffff:127.');
}

/**
 * Apps from a file, one a line: `<appKey> [origin] [tenant]`, whitespace separated; `-` for "no
 * origin"; `#` starts a comment. The bench writes one for its 10,000 apps.
 */
export function readAppsFile(path: string, defaultOrigin: string | undefined): AppTarget[] {
  const apps: AppTarget[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [key, origin, tenant, extra] = line.split(/\s+/);
    if (key === undefined || extra !== undefined)
      throw new Error(`${path}:${index + 1}: expected "<appKey> [origin] [tenant]"`);
    apps.push({
      key,
      origin: origin === undefined ? defaultOrigin : origin === '-' ? undefined : origin,
      tenant,
    });
  });
  if (apps.length === 0) throw new Error(`${path} lists no app keys`);
  return apps;
}
