import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('./fixtures/faro-sdk-2.12/', import.meta.url);
const sums = readFileSync(new URL('./fixtures/faro-sdk-2.12.SHA256SUMS', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => line.split(/\s+/) as [string, string]);

describe('the captured Faro SDK fixtures', () => {
  it('are unmodified copies of the capture (checksums match)', () => {
    for (const [sum, file] of sums) {
      expect(
        createHash('sha256')
          .update(readFileSync(new URL(file, dir)))
          .digest('hex'),
        file,
      ).toBe(sum);
    }
    expect(readdirSync(dir).sort()).toEqual(sums.map(([, file]) => file).sort());
  });
});
