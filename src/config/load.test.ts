import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, unknownPharosVariables } from './load.js';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pharos-config-')), 'pharos.yaml');
  writeFileSync(file, text);
  return file;
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return `${(error as { code: string }).code}: ${(error as Error).message}`;
  }
  throw new Error('expected a configuration error');
}

describe('loadConfig', () => {
  it('has working defaults with no file, no variables and no flags', () => {
    const config = loadConfig({ env: {} });
    expect(config.server.public).toEqual({ host: '127.0.0.1', port: 12347 });
    expect(config.server.internal).toEqual({ host: '127.0.0.1', port: 12348 });
    expect(config.ingest.maxBodyBytes).toBe(5 * 1024 * 1024);
    expect(config.store.maxAge).toBe(7 * 24 * 3600 * 1000);
    expect(config.store.maxBytes).toBe(1024 ** 3);
    expect(config.cors.maxAge).toBe(2 * 3600 * 1000);
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('takes flags over variables over the file', () => {
    const file = yamlFile(
      'server:\n  public: 0.0.0.0:1000\n  internal: 0.0.0.0:2000\ndataDir: /from/file\n',
    );
    const env = { PHAROS_SERVER_INTERNAL: '127.0.0.1:2001', PHAROS_DATA_DIR: '/from/env' };
    const config = loadConfig({ file, env, flags: { dataDir: '/from/flag' } });
    expect(config.server.public).toEqual({ host: '0.0.0.0', port: 1000 });
    expect(config.server.internal).toEqual({ host: '127.0.0.1', port: 2001 });
    expect(config.dataDir).toBe('/from/flag');
  });

  it('reads the file named by PHAROS_CONFIG', () => {
    const file = yamlFile('ingest:\n  maxBodyBytes: 1MiB\n');
    expect(loadConfig({ env: { PHAROS_CONFIG: file } }).ingest.maxBodyBytes).toBe(1024 * 1024);
  });

  it('coerces variables to the type of their setting (numbers, booleans, lists, sizes)', () => {
    const config = loadConfig({
      env: {
        PHAROS_INGEST_MAX_JSON_DEPTH: '32',
        PHAROS_STORE_ENABLED: 'false',
        PHAROS_CORS_ALLOWED_HEADERS: 'x-tenant, x-request-id',
        PHAROS_STORE_MAX_BYTES: '500MB',
      },
    });
    expect(config.ingest.maxJsonDepth).toBe(32);
    expect(config.store.enabled).toBe(false);
    expect(config.cors.allowedHeaders).toEqual(['x-tenant', 'x-request-id']);
    expect(config.store.maxBytes).toBe(500_000_000);
  });

  it('names the bad key and where it came from', () => {
    const file = yamlFile('ingest:\n  maxBodyBytes: lots\n');
    expect(configError(() => loadConfig({ file, env: {} }))).toBe(
      `PHAROS_ERR_CONFIG_INVALID: ingest.maxBodyBytes: expected a byte size such as "5MiB" (got "lots") (in ${file})`,
    );
    expect(configError(() => loadConfig({ env: { PHAROS_SERVER_PUBLIC: 'nowhere' } }))).toBe(
      'PHAROS_ERR_CONFIG_INVALID: server.public: expected host:port such as "127.0.0.1:12347" (got "nowhere") (from PHAROS_SERVER_PUBLIC)',
    );
    expect(configError(() => loadConfig({ env: {}, flags: { 'log.level': 'loud' } }))).toMatch(
      /^PHAROS_ERR_CONFIG_INVALID: log\.level: expected one of fatal, error, warn, info, debug, trace, silent \(got "loud"\) \(from --log-level\)$/,
    );
    expect(
      configError(() => loadConfig({ env: { PHAROS_INGEST_MAX_JSON_DEPTH: 'deep' } })),
    ).toMatch(/^PHAROS_ERR_CONFIG_INVALID: ingest\.maxJsonDepth: expected integer \(got "deep"\)/);
  });

  it('refuses unknown settings in the file, and lists unknown PHAROS_* variables for a warning', () => {
    expect(
      configError(() => loadConfig({ file: yamlFile('ingest:\n  maxBodySize: 1MiB\n'), env: {} })),
    ).toMatch(/^PHAROS_ERR_CONFIG_INVALID: ingest\.maxBodySize: unknown setting/);
    const env = {
      PHAROS_INGEST_MAX_BODY: '1',
      PHAROS_TOKEN: 't',
      PHAROS_LOG_LEVEL: 'warn',
      HOME: '/root',
    };
    expect(loadConfig({ env }).log.level).toBe('warn');
    expect(unknownPharosVariables(env)).toEqual(['PHAROS_INGEST_MAX_BODY']);
  });

  it('checks declared tenants: ids, keys, nesting', () => {
    const file = yamlFile(
      'tenants:\n  - id: acme\n    apps:\n      - id: Shop!\n        keys: [pk_shop_123456]\n',
    );
    expect(configError(() => loadConfig({ file, env: {} }))).toMatch(
      /^PHAROS_ERR_CONFIG_INVALID: tenants\[0\]\.apps\[0\]\.id: /,
    );
    const noKeys = yamlFile(
      'tenants:\n  - id: acme\n    apps:\n      - id: shop\n        keys: []\n',
    );
    expect(configError(() => loadConfig({ file: noKeys, env: {} }))).toMatch(
      /tenants\[0\]\.apps\[0\]\.keys: /,
    );
  });

  it('refuses a headers timeout longer than the whole-request timeout', () => {
    expect(configError(() => loadConfig({ env: { PHAROS_INGEST_HEADERS_TIMEOUT: '1m' } }))).toMatch(
      /^PHAROS_ERR_CONFIG_INVALID: ingest\.headersTimeout: must not exceed ingest\.bodyTimeout/,
    );
  });

  it('reports an unreadable file and invalid YAML', () => {
    expect(configError(() => loadConfig({ file: '/nonexistent/pharos.yaml', env: {} }))).toMatch(
      /^PHAROS_ERR_CONFIG_FILE_UNREADABLE: cannot read \/nonexistent\/pharos\.yaml/,
    );
    expect(
      configError(() => loadConfig({ file: yamlFile('server: [unclosed\n'), env: {} })),
    ).toMatch(/^PHAROS_ERR_CONFIG_FILE_UNREADABLE: .* is not valid YAML/);
  });
});
