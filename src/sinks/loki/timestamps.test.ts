import { describe, expect, it } from 'vitest';
import {
  CLIENT_TIMESTAMP_MAX_AGE_MS,
  clientEntryTime,
  compareEntryTimes,
  createReceiveClock,
  entryTimeNanosText,
} from './timestamps.js';

describe('createReceiveClock', () => {
  it('gives the receive time, then one nanosecond more for each entry in the same millisecond', () => {
    const clock = createReceiveClock();
    const at = 1_795_573_537_597;
    expect(clock(at)).toEqual({ seconds: 1_795_573_537, nanos: 597_000_000 });
    expect(clock(at)).toEqual({ seconds: 1_795_573_537, nanos: 597_000_001 });
    expect(clock(at)).toEqual({ seconds: 1_795_573_537, nanos: 597_000_002 });
    expect(clock(at + 1)).toEqual({ seconds: 1_795_573_537, nanos: 598_000_000 });
  });

  it('never steps back when the wall clock does, and carries into the next second', () => {
    const clock = createReceiveClock();
    expect(clock(10_999)).toEqual({ seconds: 10, nanos: 999_000_000 });
    for (let i = 0; i < 999_999; i++) clock(10_999);
    expect(clock(10_999)).toEqual({ seconds: 11, nanos: 0 });
    expect(clock(5_000)).toEqual({ seconds: 11, nanos: 1 });
  });
});

describe('clientEntryTime', () => {
  const receivedAt = Date.UTC(2026, 10, 25, 2, 25, 40);
  const fallback = { seconds: 1, nanos: 2 };
  const receive = () => fallback;

  it('uses the item timestamp, with its nanoseconds, when it is within the last hour', () => {
    expect(clientEntryTime('2026-11-25T02:25:37.597123456Z', receivedAt, receive)).toEqual({
      seconds: Date.UTC(2026, 10, 25, 2, 25, 37) / 1000,
      nanos: 597_123_456,
    });
  });

  it('falls back to the receive time when missing, in the future, or too old', () => {
    expect(clientEntryTime(undefined, receivedAt, receive)).toBe(fallback);
    expect(clientEntryTime('2026-11-25T02:25:41Z', receivedAt, receive)).toBe(fallback);
    const tooOld = new Date(receivedAt - CLIENT_TIMESTAMP_MAX_AGE_MS - 1).toISOString();
    expect(clientEntryTime(tooOld, receivedAt, receive)).toBe(fallback);
    const oldest = new Date(receivedAt - CLIENT_TIMESTAMP_MAX_AGE_MS).toISOString();
    expect(clientEntryTime(oldest, receivedAt, receive)).not.toBe(fallback);
  });
});

describe('entryTimeNanosText', () => {
  it('writes nanoseconds since the epoch, beyond 2^53, exactly', () => {
    expect(entryTimeNanosText({ seconds: 1_795_573_537, nanos: 597_000_001 })).toBe(
      '1795573537597000001',
    );
    expect(entryTimeNanosText({ seconds: 1, nanos: 5 })).toBe('1000000005');
    expect(entryTimeNanosText({ seconds: 0, nanos: 5 })).toBe('5');
  });
  it('orders times', () => {
    expect(compareEntryTimes({ seconds: 1, nanos: 5 }, { seconds: 1, nanos: 6 })).toBeLessThan(0);
    expect(compareEntryTimes({ seconds: 2, nanos: 0 }, { seconds: 1, nanos: 999 })).toBeGreaterThan(
      0,
    );
  });
});
