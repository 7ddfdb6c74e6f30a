import { describe, expect, it } from 'vitest';
import {
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES as H,
  segmentFileName,
  SegmentTable,
} from './segment-table.js';

describe('segment table', () => {
  function table(): SegmentTable {
    const segments = new SegmentTable();
    segments.add(11, H + 100, true);
    segments.add(10, H + 50, true);
    segments.add(12, H + 30, false);
    return segments;
  }

  it('takes the end of a sealed segment as the start of the next', () => {
    const segments = table();
    expect(segments.normalize({ segment: 10, offset: H + 50 })).toEqual({ segment: 11, offset: H });
    expect(segments.normalize({ segment: 10, offset: H + 20 })).toEqual({
      segment: 10,
      offset: H + 20,
    });
    // The write segment is not sealed: its end stays where it is.
    expect(segments.normalize({ segment: 12, offset: H + 30 })).toEqual({
      segment: 12,
      offset: H + 30,
    });
    // A deleted segment: the next one that exists.
    expect(segments.normalize({ segment: 9, offset: 999 })).toEqual({ segment: 10, offset: H });
  });

  it('measures record bytes between positions, across segments, without headers', () => {
    const segments = table();
    expect(segments.distance({ segment: 10, offset: H }, { segment: 12, offset: H + 30 })).toBe(
      180,
    );
    expect(
      segments.distance({ segment: 10, offset: H + 40 }, { segment: 11, offset: H + 10 }),
    ).toBe(20);
    expect(segments.distance({ segment: 12, offset: H }, { segment: 10, offset: H })).toBe(0);
  });

  it('names segments so that names sort like ids', () => {
    expect(segmentFileName(1_000_000_000_000)).toBe('0001000000000000.seg');
    expect(parseSegmentFileName('0001000000000000.seg')).toBe(1_000_000_000_000);
    expect(parseSegmentFileName('state.json')).toBeUndefined();
    expect(segmentFileName(999) < segmentFileName(1000)).toBe(true);
  });
});
