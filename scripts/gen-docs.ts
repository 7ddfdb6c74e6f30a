// Writes the generated references: docs/config.md (from the config schema) and docs/errors.md
// (from the error registry). `npm run docs`; test/docs.test.ts fails when they are stale.
import { writeFileSync } from 'node:fs';
import { renderConfigReference } from '../src/config/index.js';
import { renderErrorReference } from '../src/errors/index.js';

writeFileSync(new URL('../docs/config.md', import.meta.url), renderConfigReference());
writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorReference());
console.log('wrote docs/config.md and docs/errors.md');
