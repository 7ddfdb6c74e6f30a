import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteSourceMapStore } from '../../src/enrich/sourcemaps/index.js';
import { openSqliteRegistry } from '../../src/registry/index.js';
import { sourceMapStoreSuite } from './sourcemap-store-suite.js';
import { registryStoreSuite, type RegistryBackend } from './store-suite.js';

/** A new registry.db in a temporary directory per test; every `open` is another connection to it. */
const sqliteBackend: RegistryBackend = {
  name: 'sqlite',
  create() {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-registry-'));
    const file = join(dir, 'registry.db');
    const opened: { close(): Promise<void> }[] = [];
    const track = <T extends { close(): Promise<void> }>(store: T): T => {
      opened.push(store);
      return store;
    };
    return Promise.resolve({
      open: (options = {}) => Promise.resolve(track(openSqliteRegistry(file, options.clock))),
      openMaps: (options = {}) =>
        Promise.resolve(track(openSqliteSourceMapStore(file, options.clock))),
      dispose: async () => {
        await Promise.all(opened.map((store) => store.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
};

registryStoreSuite(sqliteBackend);
sourceMapStoreSuite(sqliteBackend);
