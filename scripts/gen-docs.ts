// Writes the generated references: docs/config.md (from the config schema), docs/errors.md
// (from the error registry), docs/openapi.json (from the internal listener's routes) and the
// route table of docs/api.md. `npm run docs`; test/docs.test.ts and test/admin/openapi.test.ts
// fail when they are stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { buildOpenApiDocument, renderOpenApiJson } from '../src/admin/openapi/generate.js';
import {
  formatMarkdown,
  renderRouteTable,
  withRouteTable,
} from '../src/admin/openapi/route-table.js';
import { renderConfigReference } from '../src/config/index.js';
import { renderErrorReference } from '../src/errors/index.js';

writeFileSync(new URL('../docs/config.md', import.meta.url), renderConfigReference());
writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorReference());
const openapi = await buildOpenApiDocument();
writeFileSync(new URL('../docs/openapi.json', import.meta.url), await renderOpenApiJson(openapi));
const apiDoc = new URL('../docs/api.md', import.meta.url);
writeFileSync(
  apiDoc,
  await formatMarkdown(withRouteTable(readFileSync(apiDoc, 'utf8'), renderRouteTable(openapi))),
);
console.log('wrote docs/config.md, docs/errors.md, docs/openapi.json and docs/api.md');
