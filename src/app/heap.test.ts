import { describe, expect, it } from 'vitest';
import { tuneHeapGrowth } from './heap.js';

describe('tuneHeapGrowth', () => {
  it("leaves an operator's own --heap-growing-percent alone", () => {
    expect(tuneHeapGrowth(['--heap-growing-percent=300'], '')).toBe(false);
    expect(tuneHeapGrowth(['--heap_growing_percent', '300'], '')).toBe(false);
    expect(tuneHeapGrowth([], '--heap-growing-percent=50')).toBe(false);
  });

  it('applies Pharos’s limit when the operator set none, whatever other flags there are', () => {
    expect(tuneHeapGrowth(['--enable-source-maps', '--max-old-space-size=512'], '')).toBe(true);
  });
});
