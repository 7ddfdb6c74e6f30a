import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigReference } from '../src/config/index.js';
import { ERRORS, renderErrorReference } from '../src/errors/index.js';

const read = (file: string) => readFileSync(new URL(`../docs/${file}`, import.meta.url), 'utf8');

describe('generated references', () => {
  it('docs/config.md matches the config schema (run `npm run docs` after changing it)', () => {
    expect(read('config.md')).toBe(renderConfigReference());
  });

  it('docs/errors.md matches the error registry (run `npm run docs` after changing it)', () => {
    expect(read('errors.md')).toBe(renderErrorReference());
  });

  it('documents every error code, each once, each named PHAROS_ERR_*', () => {
    const doc = read('errors.md');
    const codes = Object.values(ERRORS).map((definition) => definition.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect(code).toMatch(/^PHAROS_ERR_[A-Z0-9_]+$/);
      expect(doc.split(`\`${code}\``).length - 1, code).toBe(1);
    }
  });
});
